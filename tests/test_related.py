"""Related articles and same-event links on constructed articles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from generator import outlets
from generator.models import Article
from generator.related import (RelatedRules, SameEventRules, co_occurring_tags, rarity,
                               related_articles, same_event_links)

START = datetime(2022, 3, 1, 12, tzinfo=timezone.utc)


def art(slug: str, days: float, tags: tuple[str, ...], title: str = "标题",
        outlet: outlets.Outlet = outlets.VOA) -> Article:
    return Article(uid=slug, slug=slug, rel_path=f"{slug}.txt", digest=slug, format="test",
                   title=title, source_url=None, outlet=outlet,
                   published=START + timedelta(days=days), author=None, lead_image=None,
                   lead_caption=None, summary="", reading_minutes=1, tags=tags)


def chronological(*articles: Article) -> list[Article]:
    return sorted(articles, key=lambda a: a.published)


def related_slugs(articles: list[Article], slug: str, rules: RelatedRules = RelatedRules()
                  ) -> list[str]:
    index = [a.slug for a in articles].index(slug)
    return [articles[i].slug for i in related_articles(articles, rules)[index]]


def test_rarity_halves_per_doubling() -> None:
    assert [rarity(df) for df in (1, 2, 3, 4, 7, 8)] == [1, 0.5, 0.5, 1 / 3, 1 / 3, 0.25]


def test_rare_shared_tag_outranks_common_one() -> None:
    common = tuple(art(f"c{i}", 40 + i, ("ukraine",)) for i in range(10))
    articles = chronological(
        art("me", 0, ("ukraine", "istanbul")),
        art("rare", 20, ("istanbul",)),
        art("common", 1, ("ukraine",)),
        *common)
    assert related_slugs(articles, "me")[0] == "rare"


def test_closer_in_time_ranks_higher_for_equal_tags() -> None:
    articles = chronological(art("me", 0, ("lavrov", "blinken")),
                             art("far", 300, ("lavrov", "blinken")),
                             art("near", 3, ("lavrov", "blinken")))
    assert related_slugs(articles, "me") == ["near", "far"]


def test_at_most_count_and_never_itself_or_unrelated() -> None:
    articles = chronological(*(art(f"a{i}", i, ("nato",)) for i in range(12)),
                             art("other", 2, ("grain-deal",)))
    found = related_slugs(articles, "a5", RelatedRules(count=5))
    assert len(found) == 5 and "a5" not in found and "other" not in found


def test_candidates_per_tag_are_limited_to_nearest_in_time() -> None:
    articles = chronological(*(art(f"a{i}", i, ("nato",)) for i in range(200)))
    found = related_slugs(articles, "a100", RelatedRules(count=50, per_tag=10))
    assert sorted(found) == sorted(f"a{i}" for i in (95, 96, 97, 98, 99, 101, 102, 103, 104,
                                                     105))


def links(articles: list[Article], slug: str, rules: SameEventRules = SameEventRules()
          ) -> list[str]:
    index = [a.slug for a in articles].index(slug)
    return [articles[i].slug for i in same_event_links(articles, rules)[index]]


BACKGROUND = tuple(art(f"bg{i}", 100 + i, ("ukraine", "russia")) for i in range(20))


def test_two_outlets_reporting_one_event_link_each_other() -> None:
    articles = chronological(
        art("voa", 0, ("blinken", "lavrov", "geneva", "ukraine"), "布林肯与拉夫罗夫在日内瓦会晤"),
        art("aj", 0.4, ("blinken", "lavrov", "geneva", "ukraine"), "布林肯与拉夫罗夫日内瓦会谈无进展",
            outlets.ALJAZEERA),
        *BACKGROUND)
    assert links(articles, "voa") == ["aj"] and links(articles, "aj") == ["voa"]


def test_same_story_days_apart_is_not_the_same_event() -> None:
    articles = chronological(
        art("first", 0, ("blinken", "lavrov", "geneva"), "布林肯与拉夫罗夫在日内瓦会晤"),
        art("later", 5, ("blinken", "lavrov", "geneva"), "布林肯与拉夫罗夫在日内瓦会晤"),
        *BACKGROUND)
    assert links(articles, "first") == []


def test_same_day_different_topic_is_not_the_same_event() -> None:
    articles = chronological(
        art("talks", 0, ("blinken", "lavrov", "ukraine"), "布林肯与拉夫罗夫在日内瓦会晤"),
        art("grain", 0.1, ("grain-deal", "odesa", "ukraine"), "黑海粮食协议延期 敖德萨港恢复出口",
            outlets.ALJAZEERA),
        *BACKGROUND)
    assert links(articles, "talks") == []


def test_two_reports_from_one_outlet_can_link() -> None:
    articles = chronological(
        art("a", 0, ("zelensky", "washington", "patriot"), "泽连斯基访问华盛顿 获爱国者导弹"),
        art("b", 0.5, ("zelensky", "washington", "patriot"), "泽连斯基在华盛顿获得爱国者防空系统"),
        *BACKGROUND)
    assert links(articles, "a") == ["b"]


def test_rule_is_configurable() -> None:
    articles = chronological(
        art("voa", 0, ("blinken", "lavrov"), "布林肯与拉夫罗夫会晤"),
        art("aj", 2, ("blinken", "lavrov"), "布林肯与拉夫罗夫会晤", outlets.ALJAZEERA),
        *BACKGROUND)
    assert links(articles, "voa") == []
    assert links(articles, "voa", SameEventRules(max_hours=72)) == ["aj"]


def test_co_occurring_tags_rank_by_count() -> None:
    articles = [art("a", 0, ("nato", "stoltenberg", "brussels")),
                art("b", 1, ("nato", "stoltenberg")), art("c", 2, ("nato", "finland"))]
    assert co_occurring_tags(articles)["nato"] == ("stoltenberg", "brussels", "finland")


def test_related_lists_do_not_depend_on_the_block_size(monkeypatch) -> None:
    # Scored a block of articles at a time to bound memory; the blocks must
    # not show in the result (pairs across a block boundary, summing order).
    import random

    from generator import related

    rng = random.Random(7)
    names = [f"t{n}" for n in range(12)]
    articles = chronological(*(art(f"a{n}", rng.uniform(0, 400),
                                   tuple(rng.sample(names, rng.randint(1, 5))))
                               for n in range(300)))
    whole = related.related_articles(articles, RelatedRules(per_tag=10))
    monkeypatch.setattr(related, "BLOCK", 7)
    assert related.related_articles(articles, RelatedRules(per_tag=10)) == whole
    assert sum(1 for r in whole if r) > 250
