"""Related articles and same-event links on constructed articles."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from generator import outlets, related
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


# -- same-event candidates against every pair ----------------------------------
# Scored pairs come from inverted indexes (shared specific tag, rare title
# bigrams); the lists must equal scoring every pair in the window. Titles from
# few words so that bigrams overlap often, near-copies of earlier titles with
# other tags so that title-only pairs exist, dates in dense clusters.
EVENT_WORDS = ["乌克兰", "俄罗斯", "谈判", "停火", "援助", "制裁", "北约", "峰会", "粮食",
               "协议", "总统", "会晤", "导弹", "能源", "外长", "访问"]
EVENT_TAGS = [f"t{n}" for n in range(10)]


@pytest.fixture(params=["indexed", "window"])
def candidate_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Candidates from the indexes, or every pair in the window (the choice
    otherwise depends on how dense the windows are): both must be exact."""
    monkeypatch.setattr(related, "INDEX_FROM_PAIRS", 0 if request.param == "indexed" else 10**9)
    return str(request.param)


def random_event_articles(rng: random.Random, count: int) -> list[Article]:
    centres = [rng.uniform(0, 30) * 24 for _ in range(max(1, count // 40))]
    stories: list[tuple[list[str], tuple[str, ...], float]] = []
    articles = []
    for number in range(count):
        words = rng.sample(EVENT_WORDS, rng.randint(1, 5))
        tags = ("t0",) * (rng.random() < 0.7) + tuple(rng.sample(EVENT_TAGS[1:], rng.randint(0, 3)))
        hours = rng.choice(centres) + rng.gauss(0, 20)
        if stories and rng.random() < 0.4:  # another report: title (nearly) copied, tags maybe
            words, copied_tags, hours = rng.choice(stories)
            words = list(words)
            if rng.random() < 0.6:
                words[rng.randrange(len(words))] = rng.choice(EVENT_WORDS)
            tags = copied_tags if rng.random() < 0.5 else tags
            hours += rng.gauss(0, 12)
        stories.append((words, tags, hours))
        # Whole hours: equal dates, and pairs exactly `max_hours` apart, happen.
        articles.append(art(f"a{number}", round(hours) / 24, tags, " ".join(words)))
    return chronological(*articles)


def same_event_reference(articles: list[Article], rules: SameEventRules) -> list[tuple[int, ...]]:
    """Every pair within `max_hours` scored (pairs sharing neither a specific
    tag nor a title bigram are never linked, whatever min_score)."""
    counts = related.tag_counts(articles)
    common = {t for t, n in counts.items() if n > related.common_limit(len(articles), rules)}
    features = [related.event_features(a, common) for a in articles]
    times = [a.published.timestamp() for a in articles]
    found: list[list[tuple[float, int]]] = [[] for _ in articles]
    for i, (title, tags) in enumerate(features):
        for j in range(i + 1, len(articles)):
            if times[j] <= times[i] + rules.max_hours * 3600:
                other_title, other_tags = features[j]
                if title.isdisjoint(other_title) and tags.isdisjoint(other_tags):
                    continue
                score = related.same_event_score(title, tags, other_title, other_tags)
                if score >= rules.min_score:
                    found[i].append((score, j))
                    found[j].append((score, i))
    return [tuple(o for _, o in sorted(f, key=lambda s: (-s[0], s[1]))[: rules.max_links])
            for f in found]


def title_only_links(articles: list[Article], lists: list[tuple[int, ...]]) -> int:
    """How many links join two articles with no tag in common (t0 is common)."""
    return sum(1 for n, found in enumerate(lists) for o in found
               if not set(articles[n].tags) - {"t0"} & set(articles[o].tags))


@pytest.mark.parametrize("min_score", [0.2, 0.35, 0.5, 0.6, 0.9])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_event_links_equal_scoring_every_pair(seed: int, min_score: float,
                                                  candidate_path: str) -> None:
    rng = random.Random(seed)
    articles = random_event_articles(rng, 400)
    rules = SameEventRules(max_hours=rng.choice([12, 36, 48]), min_score=min_score,
                           common_tag_share=0.5, common_tag_min=10, max_links=rng.choice([3, 50]))
    expected = same_event_reference(articles, rules)
    assert same_event_links(articles, rules) == expected
    assert sum(map(len, expected)) > 20
    if min_score <= 0.5:  # the title-only path was exercised, not just shared tags
        assert title_only_links(articles, expected) > 20


@pytest.mark.parametrize("min_score", [0.0, -1.0, 1.0, 1.5, float("nan")])
def test_same_event_links_at_edge_thresholds_equal_scoring_every_pair(
        min_score: float, candidate_path: str) -> None:
    articles = random_event_articles(random.Random(5), 200)
    for hours in (0.0, 1.0, 36.0):
        rules = SameEventRules(max_hours=hours, min_score=min_score, common_tag_share=0.5)
        assert same_event_links(articles, rules) == same_event_reference(articles, rules)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 24, 40])
@pytest.mark.parametrize("min_score", [0.05, 0.2, 0.35, 0.45, 0.5])
def test_title_prefix_is_long_enough_for_the_dice_bound(size: int, min_score: float) -> None:
    # The overlap o a pair needs is the least with 2o / (size + |b|) >= 2 × min_score
    # for some |b| >= o; the prefix must hold size - o + 1 bigrams.
    needed = min(o for o in range(1, size + 1)
                 if any(2 * o / (size + other) >= 2 * min_score for other in range(o, 200)))
    prefixes = related.title_prefixes([frozenset(f"b{n}" for n in range(size))], min_score)
    assert len(prefixes[0]) >= size - needed + 1


def test_window_pair_count_decides_between_index_and_scan() -> None:
    rng = random.Random(11)
    times = sorted(round(rng.uniform(0, 100)) * 3600.0 for _ in range(300))
    window = 6 * 3600.0
    expected = sum(1 for i in range(len(times)) for j in range(i + 1, len(times))
                   if times[j] <= times[i] + window)
    assert related._window_pairs(times, window) == expected
    assert related._window_pairs(times, float("nan")) == 0
