"""Parse outcomes and articles in the cache's compact form, and the stored
report that reuses the last build's rows."""

from __future__ import annotations

import json
import marshal
from dataclasses import fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from generator import codec, outlets
from generator.config import Config
from generator.models import Article, Problem, Severity
from generator.parse import ParseOutcome
from generator.report import BuildReport, StoredArticles
from generator.write import WriteResult
from tests.conftest import parse_fixture, site_config


def article(number: int, **changes: object) -> Article:
    url = f"https://www.voachinese.com/a/{number}.html"
    made = Article(uid=url, slug=f"voa-{number}", rel_path=f"{number}.txt",
                   digest=f"{number:064x}", format="feed-markdown",
                   title=f"标题{number}\n\"引号\"",
                   source_url=url, outlet=outlets.VOA,
                   published=datetime(2023, 5, 1, 3, 4, 5, 678901, tzinfo=timezone.utc)
                   + timedelta(days=number), author="记者", lead_image=None,
                   lead_caption="图片说明", summary="摘要", reading_minutes=3,
                   declared_tags=("北约",), tags=("ukraine", "nato"), warnings=("a warning",),
                   text_chars=1234, local_month=(2023, 5), scope_hit=True)
    return replace(made, **changes) if changes else made


def same_in_every_field(one: object, other: object) -> bool:
    assert type(one) is type(other)
    for field in fields(one):  # type: ignore[arg-type]
        a, b = getattr(one, field.name), getattr(other, field.name)
        if type(a) is not type(b) or a != b or repr(a) != repr(b):
            return False
    return True


def test_the_layout_tag_covers_every_field() -> None:
    # Records name the fields they were written with; a new field must change the name.
    assert codec._OUTCOME_FIELDS == tuple(f.name for f in fields(ParseOutcome))
    assert codec._PROBLEM_FIELDS == tuple(f.name for f in fields(Problem))


def test_an_outcome_comes_back_equal_in_every_field() -> None:
    for rel in ("voa/feed_markdown_with_footer.txt", "aljazeera/hexo_blank_first_line.md",
                "jekyll/jekyll_wrapped_other_outlet_dmy_date.md",
                "voa/no_date_line_uses_archive_time.txt", "problems/missing_title.md",
                "problems/gbk_encoded.txt"):
        outcome = parse_fixture(rel).without_body()
        again = codec.decode_outcome(codec.encode_outcome(outcome))
        assert again == outcome and same_in_every_field(again, outcome)
        if outcome.article is not None:
            assert again.article is not None
            assert same_in_every_field(again.article, outcome.article)


def test_outcomes_without_an_article_or_with_odd_fields_come_back_equal() -> None:
    problem = Problem("bad.txt", Severity.ERROR, "no title", 3)
    for outcome in (ParseOutcome("bad.txt", "ab" * 32, None, None, problem),
                    ParseOutcome("empty.txt", "", None, None, None, ("unknown",)),
                    ParseOutcome("x.txt", "cd" * 32, article(1, source_url=None, author=None,
                                                             tags=(), warnings=()), "<p>body</p>",
                                 None)):
        again = codec.decode_outcome(codec.encode_outcome(outcome))
        assert again == outcome and same_in_every_field(again, outcome)


def test_a_time_in_another_zone_is_kept_exactly() -> None:
    # Not UTC: the compact form would bring it back in UTC; it is pickled instead.
    other_zone = datetime(2023, 5, 1, 12, tzinfo=timezone(timedelta(hours=8)))
    outcome = ParseOutcome("x.txt", "ef" * 32, article(2, published=other_zone), None, None)
    data = codec.encode_outcome(outcome)
    assert data.startswith(codec.PICKLED)
    again = codec.decode_outcome(data)
    assert again.article is not None and again.article.published.tzinfo == other_zone.tzinfo
    assert same_in_every_field(again.article, outcome.article)


def test_decoded_articles_share_what_they_hold_equal() -> None:
    first, second = (codec.decode_article(codec.encode_article(article(n))) for n in (1, 2))
    assert first.outlet is second.outlet
    assert first.tags[0] is second.tags[0]
    assert first.local_month is second.local_month
    assert first.uid is first.source_url


def test_records_of_another_layout_or_damaged_are_refused() -> None:
    record = codec.encode_article(article(3))
    other_layout = b"M" + bytes(6) + record[len(codec.COMPACT):]
    with pytest.raises(codec.CodecError):
        codec.decode_article(other_layout)
    with pytest.raises(codec.CodecError):
        codec.decode_article(codec.COMPACT + marshal.dumps([1, 2, 3]))
    with pytest.raises(codec.CodecError):
        codec.decode_outcome(codec.COMPACT + marshal.dumps(("x", "y")))


# -- the stored report -------------------------------------------------------
def report(articles: list[Article]) -> BuildReport:
    return BuildReport(articles, [], [], [], WriteResult((), (), ()), len(articles),
                       Path("content"), Path("public"))


def rows(stored: BuildReport) -> list[dict[str, object]]:
    assert isinstance(stored.articles, StoredArticles)
    return list(json.loads(stored.articles.rows_json))


def stored_fresh(articles: list[Article], config: Config, key: str = "k") -> BuildReport:
    return report(articles).stored(config, key)


def test_a_stored_report_made_with_the_last_one_equals_one_made_afresh() -> None:
    config = site_config()
    before = stored_fresh([article(n) for n in range(5)], config)
    now = [article(n) for n in range(1, 5)] + [article(9)]
    now[1] = replace(now[1], slug="voa-2-2")  # a slug collision changed it
    now[2] = replace(now[2], rel_path="moved/3.txt")  # the same file under another name
    reused = report(now).stored(config, "k", before)
    fresh = stored_fresh(now, config)
    assert rows(reused) == rows(fresh)
    assert reused.articles.rows_json == fresh.articles.rows_json  # type: ignore[union-attr]
    assert list(reused.articles) == now
    assert rows(reused)[1]["permalink"] == "/articles/voa-2-2/"
    assert rows(reused)[2]["source_path"] == "moved/3.txt"


def test_rows_made_under_other_settings_are_not_reused() -> None:
    before = stored_fresh([article(1)], site_config("https://one.example/"))
    moved = report([article(1)]).stored(site_config("https://two.example/sub/"), "k", before)
    assert rows(moved)[0]["permalink"] == "/sub/articles/voa-1/"
    retagged = report([replace(article(1), tags=("russia",))]).stored(
        site_config("https://one.example/"), "other parse settings", before)
    assert rows(retagged)[0]["tags"] == ["russia"]


def test_a_stored_report_round_trips_through_pickle() -> None:
    import pickle
    stored = stored_fresh([article(n) for n in range(3)], site_config())
    again = pickle.loads(pickle.dumps(stored))
    assert list(again.articles) == [article(n) for n in range(3)]
    assert again.articles.rows_json == stored.articles.rows_json  # type: ignore[union-attr]
    assert again.json_text(site_config()) == stored.json_text(site_config())
