"""Groupings patched from the last build's equal groupings made from scratch."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest

from generator import groups, outlets
from generator.groups import ArticleGroups, group_articles
from generator.models import Article, Outlet
from generator.render import build_site_model
from tests.conftest import site_config
from tests.test_related import art, chronological

ZONE = ZoneInfo("Asia/Shanghai")
TAGS = [f"t{n:02d}" for n in range(12)]
OUTLETS = [outlets.VOA, outlets.ALJAZEERA, outlets.RFI]


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    groups.LAST.forget()
    yield
    groups.LAST.forget()


def random_article(rng: random.Random, number: int) -> Article:
    return art(f"a{number}", rng.uniform(0, 150), tuple(rng.sample(TAGS, rng.randint(0, 3))),
               outlet=rng.choice(OUTLETS))


def mutate(rng: random.Random, articles: list[Article], counter: list[int]) -> list[Article]:
    """One or two additions, deletions, edits (tags, date, outlet, summary)."""
    items = list(articles)
    for _ in range(rng.randint(1, 2)):
        action = rng.choice(["add", "delete", "tags", "date", "outlet", "summary"])
        counter[0] += 1
        if action == "add" or len(items) < 5:
            items.append(random_article(rng, counter[0]))
            continue
        victim = rng.randrange(len(items))
        old = items[victim]
        if action == "delete":
            del items[victim]
        elif action == "tags":
            items[victim] = replace(old, tags=tuple(rng.sample(TAGS, rng.randint(0, 3))))
        elif action == "date":
            items[victim] = replace(old, published=old.published
                                    + timedelta(days=rng.uniform(-40, 40)))
        elif action == "outlet":
            # An equal outlet in a new object: the site shows the latest article's.
            items[victim] = replace(old, outlet=Outlet(old.outlet.key, old.outlet.name))
        else:
            items[victim] = replace(old, summary=f"edited {counter[0]}")
    return chronological(*items)


def by_identity(found: ArticleGroups) -> tuple[object, ...]:
    def ids(items: tuple[Article, ...]) -> tuple[int, ...]:
        return tuple(map(id, items))

    return (ids(found.articles),
            [(m.year, m.month, ids(m.articles)) for m in found.months],
            list({k: ids(v) for k, v in found.tag_articles.items()}.items()),
            list({k: ids(v) for k, v in found.outlet_articles.items()}.items()),
            [(k, id(v)) for k, v in found.outlets.items()])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_patched_groups_equal_groups_made_from_scratch(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    counter = [500]
    articles = chronological(*(random_article(rng, n) for n in range(200)))
    group_articles(articles, ZONE)
    from_scratch: list[int] = []
    real = groups._grouped
    monkeypatch.setattr(groups, "_grouped",
                        lambda *args: from_scratch.append(1) or real(*args))
    for step in range(60):
        articles = mutate(rng, articles, counter)
        found = group_articles(articles, ZONE)
        assert by_identity(found) == by_identity(real(articles, ZONE)), f"step {step}"
    assert from_scratch == []


def test_untouched_groups_are_the_same_tuples() -> None:
    rng = random.Random(4)
    articles = chronological(*(random_article(rng, n) for n in range(100)))
    before = group_articles(articles, ZONE)
    added = art("new", 20, ("t00",), outlet=outlets.VOA)
    after = group_articles(chronological(*articles, added), ZONE)
    assert after.tag_articles["t01"] is before.tag_articles["t01"]
    assert after.outlet_articles["rfi"] is before.outlet_articles["rfi"]
    assert after.tag_articles["t00"] is not before.tag_articles["t00"]
    assert group_articles(list(after.articles), ZONE) is after


@pytest.mark.parametrize("how", ["reordered", "many changed", "other zone", "listed twice",
                                 "month out of order"])
def test_groups_are_made_from_scratch_when_they_cannot_be_patched(
        how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    articles = chronological(*(random_article(rng, n) for n in range(100)))
    zone = ZONE
    group_articles(articles, zone)
    if how == "reordered":  # equal times: both orders are chronological
        at = 40
        articles[at] = replace(articles[at], published=articles[at + 1].published)
        group_articles(articles, zone)
        articles[at], articles[at + 1] = articles[at + 1], articles[at]
    elif how == "many changed":
        articles = chronological(*articles, *(random_article(rng, 200 + n) for n in range(20)))
    elif how == "listed twice":
        articles.insert(51, articles[50])
    elif how == "month out of order":  # by_month then has the month twice, as two runs
        articles.insert(50, replace(random_article(rng, 300), local_month=(2021, 1)))
    else:
        zone = ZoneInfo("UTC")
    from_scratch: list[int] = []
    real = groups._grouped
    monkeypatch.setattr(groups, "_grouped",
                        lambda *args: from_scratch.append(1) or real(*args))
    found = group_articles(articles, zone)
    assert from_scratch == [1]
    assert by_identity(found) == by_identity(real(articles, zone))


def test_the_site_model_is_the_same_whether_patched_or_not() -> None:
    rng = random.Random(6)
    articles = chronological(*(random_article(rng, n) for n in range(100)))
    config = site_config()
    build_site_model(articles, {}, (), config)
    changed = chronological(*articles[1:], random_article(rng, 300))
    patched = build_site_model(changed, {}, (), config)
    groups.LAST.forget()
    assert patched == build_site_model(changed, {}, (), config)
