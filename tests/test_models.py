"""Articles as the cache and the parse workers hand them over: pickled."""

from __future__ import annotations

import pickle
from dataclasses import fields
from datetime import datetime, timezone

from generator import outlets
from generator.models import Article


def scraped(number: int, tags: tuple[str, ...]) -> Article:
    url = f"https://www.voachinese.com/a/{number}.html"
    # Strings built at run time, as a parser makes them: equal, not identical.
    return Article(uid=url, slug=f"voa-{number}", rel_path=f"{number}.txt", digest=f"{number:064x}",
                   format="".join(["feed-", "markdown"]), title=f"标题{number}", source_url=url,
                   outlet=outlets.VOA, published=datetime(2023, 5, 1 + number, tzinfo=timezone.utc),
                   author=None, lead_image=None, lead_caption=None, summary="摘要",
                   reading_minutes=1, tags=tuple("".join(list(t)) for t in tags),
                   local_month=(2023, 5))


def test_pickled_article_round_trips_every_field() -> None:
    article = scraped(1, ("ukraine", "nato"))
    again = pickle.loads(pickle.dumps(article, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == article
    assert [getattr(again, f.name) for f in fields(Article)] == \
        [getattr(article, f.name) for f in fields(Article)]


def test_unpickled_articles_share_what_they_hold_equal() -> None:
    first, second = pickle.loads(pickle.dumps(
        [scraped(1, ("ukraine", "nato")), scraped(2, ("nato", "ukraine"))]))
    alone = pickle.loads(pickle.dumps(scraped(3, ("ukraine",))))  # another pickle entirely
    assert first.outlet is second.outlet is alone.outlet
    assert first.tags[0] is second.tags[1] is alone.tags[0]
    assert first.format is alone.format
    assert first.local_month is alone.local_month
    assert first.uid is first.source_url
