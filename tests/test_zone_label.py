"""The zone label shown after an article's time: the offset as people write it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from generator.render import _full_time, _zone_label


@pytest.mark.parametrize(("minutes", "label"), [
    (480, "UTC+8"), (0, "UTC+0"), (-300, "UTC-5"), (330, "UTC+5:30"),
    (345, "UTC+5:45"), (-210, "UTC-3:30"), (-570, "UTC-9:30")])
def test_offsets_are_labelled_with_their_own_hours_and_minutes(minutes: int,
                                                               label: str) -> None:
    assert _zone_label(timedelta(minutes=minutes)) == label


def test_an_article_time_in_newfoundland_says_minus_three_thirty() -> None:
    when = datetime(2023, 5, 1, 9, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
    assert _full_time(when) == "2023年5月1日 星期一 09:05（UTC-3:30）"
