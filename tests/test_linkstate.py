"""Updated link lists equal recomputed ones, over random sequences of changes."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from generator import linkstate
from generator.linkstate import compute_links
from generator.models import Article
from generator.related import RelatedRules, SameEventRules
from tests.test_related import (art, candidate_path, chronological,  # noqa: F401
                                random_event_articles, same_event_reference)

TAGS = [f"t{n:02d}" for n in range(14)]
WORDS = ["乌克兰", "俄罗斯", "谈判", "停火", "援助", "制裁", "北约", "峰会", "粮食", "协议"]
RULES = RelatedRules(count=4, per_tag=6, decay_days=20)
SAME = SameEventRules(max_hours=60, min_score=0.3, common_tag_share=0.25, common_tag_min=6)


def random_article(rng: random.Random, number: int) -> Article:
    title = "".join(rng.sample(WORDS, 3))
    return art(f"a{number}", rng.uniform(0, 120), tuple(rng.sample(TAGS, rng.randint(1, 4))),
               title=title)


def mutate(rng: random.Random, articles: list[Article], counter: list[int]) -> list[Article]:
    """One to three random additions, deletions or edits (tags, date, title)."""
    items = list(articles)
    for _ in range(rng.randint(1, 3)):
        action = rng.choice(["add", "add", "delete", "tags", "date", "title"])
        if action == "add" or len(items) < 5:
            counter[0] += 1
            items.append(random_article(rng, counter[0]))
            continue
        victim = rng.randrange(len(items))
        old = items[victim]
        if action == "delete":
            del items[victim]
        elif action == "tags":
            items[victim] = replace(old, tags=tuple(rng.sample(TAGS, rng.randint(1, 4))))
        elif action == "date":
            items[victim] = replace(old, published=old.published
                                    + timedelta(hours=rng.uniform(-72, 72)))
        else:
            items[victim] = replace(old, title="".join(rng.sample(WORDS, 3)))
    return chronological(*items)


def full(articles: list[Article]) -> linkstate.Links:
    links, _, updated = compute_links(articles, RULES, SAME, None)
    assert not updated
    return links


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_updated_links_equal_a_full_computation(seed: int) -> None:
    rng = random.Random(seed)
    counter = [0]
    articles = chronological(*(random_article(rng, n) for n in range(250)))
    counter[0] = 250
    _, state, _ = compute_links(articles, RULES, SAME, None)
    updates = 0
    for _ in range(40):
        articles = mutate(rng, articles, counter)
        links, state, updated = compute_links(articles, RULES, SAME, state)
        expected = full(articles)
        assert links.related == expected.related
        assert links.same_event == expected.same_event
        assert list(links.co_occurring.items()) == list(expected.co_occurring.items())
        updates += updated
    assert updates >= 30  # the update path, not the fallback, is what was compared
    assert any(links.same_event) and any(links.related)


def test_two_processes_compute_the_same_links_as_one(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path) -> None:
    rng = random.Random(5)
    articles = chronological(*(random_article(rng, n) for n in range(300)))
    alone = full(articles)
    monkeypatch.setattr(linkstate, "PARALLEL_FROM", 100)
    where = tmp_path / "pids"
    inner = linkstate._events_and_tags

    def recording(*args):  # type: ignore[no-untyped-def]
        with open(where, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return inner(*args)

    monkeypatch.setattr(linkstate, "_events_and_tags", recording)
    links, _, updated = compute_links(articles, RULES, SAME, None, workers=2)
    assert not updated
    assert links == alone
    assert any(links.same_event) and any(links.related) and links.co_occurring
    # The same-event links really were computed in another process.
    assert [int(pid) for pid in where.read_text().split()] != [os.getpid()]


def test_changed_settings_compute_everything() -> None:
    rng = random.Random(9)
    articles = chronological(*(random_article(rng, n) for n in range(60)))
    _, state, _ = compute_links(articles, RULES, SAME, None)
    links, _, updated = compute_links(articles, replace(RULES, count=2), SAME, state)
    assert not updated
    assert max(len(r) for r in links.related) == 2


def test_many_changes_compute_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linkstate, "MIN_DIRTY_LIMIT", 5)
    rng = random.Random(4)
    articles = chronological(*(random_article(rng, n) for n in range(60)))
    _, state, _ = compute_links(articles, RULES, SAME, None)
    more = chronological(*articles, *(random_article(rng, 100 + n) for n in range(20)))
    links, _, updated = compute_links(more, RULES, SAME, state)
    assert not updated
    assert links.related == full(more).related


@pytest.mark.parametrize("min_score", [0.2, 0.35, 0.6, 0.9])
def test_updated_same_event_lists_equal_scoring_every_pair(min_score: float,
                                                          candidate_path: str) -> None:
    # The update scores only candidate pairs, on stretches of the timeline
    # around the changes; the reference scores every pair in the window.
    rng = random.Random(int(min_score * 100))
    same = SameEventRules(max_hours=24, min_score=min_score, common_tag_share=0.5, max_links=4)
    articles = random_event_articles(rng, 200)
    _, state, _ = compute_links(articles, RULES, same, None)
    counter, updates, linked = [1000], 0, 0
    for _ in range(25):
        articles = mutate(rng, articles, counter)
        links, state, updated = compute_links(articles, RULES, same, state)
        assert links.same_event == same_event_reference(articles, same)
        updates += updated
        linked += sum(map(len, links.same_event))
    assert updates >= 20 and linked > 100
