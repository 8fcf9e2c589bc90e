"""Updated link lists equal recomputed ones, over random sequences of changes."""

from __future__ import annotations

import os
import random
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from generator import linkstate, related
from generator.cache import open_cache, remove_cache
from generator.linkstate import compute_links
from generator.models import Article
from generator.related import RelatedRules, SameEventRules
from tests.test_related import (art, candidate_path, chronological,  # noqa: F401
                                random_event_articles, same_event_reference)

TAGS = [f"t{n:02d}" for n in range(14)]
WORDS = ["乌克兰", "俄罗斯", "谈判", "停火", "援助", "制裁", "北约", "峰会", "粮食", "协议"]
RULES = RelatedRules(count=4, per_tag=6, decay_days=20)
SAME = SameEventRules(max_hours=60, min_score=0.3, common_tag_share=0.25, common_tag_min=6)


def random_article(rng: random.Random, number: int, tags: list[str] = TAGS) -> Article:
    title = "".join(rng.sample(WORDS, 3))
    return art(f"a{number}", rng.uniform(0, 120), tuple(rng.sample(tags, rng.randint(1, 4))),
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


def _recording(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, where: Path,
               delay: float = 0.0) -> None:
    """Make owner.`name` append the id of the process that runs it to
    `where` (after sleeping `delay` seconds) before it does its work."""
    inner = getattr(owner, name)

    def recording(*args):  # type: ignore[no-untyped-def]
        time.sleep(delay)
        with open(where, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return inner(*args)

    monkeypatch.setattr(owner, name, recording)


def _pids(where: Path) -> list[int]:
    return [int(pid) for pid in where.read_text().split()] if where.exists() else []


@pytest.mark.parametrize("slow", ["related", "same_event"])
def test_two_processes_compute_the_same_links_as_one(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, slow: str) -> None:
    # The two processes share the work as they go: when related articles take
    # longer, the forked one takes the co-occurring tags and blocks of related
    # articles once its same-event links are done; when those take longer,
    # this one computes every block and the tags.
    rng = random.Random(5)
    articles = chronological(*(random_article(rng, n) for n in range(300)))
    alone = full(articles)
    monkeypatch.setattr(linkstate, "PARALLEL_FROM", 100)
    monkeypatch.setattr(related, "MIN_BLOCK", 30)  # 300 articles in 8 blocks
    _recording(monkeypatch, related.RelatedPlan, "fill", tmp_path / "related",
               delay=0.2 if slow == "related" else 0.0)
    _recording(monkeypatch, related, "same_event_links", tmp_path / "same_event",
               delay=1.0 if slow == "same_event" else 0.0)
    _recording(monkeypatch, related, "co_occurring_tags", tmp_path / "co_occurring")
    waited: list[int] = []  # what this process did while the other one worked
    links, _, updated = compute_links(articles, RULES, SAME, None, workers=2,
                                      meanwhile=lambda: waited.append(os.getpid()))
    assert not updated
    assert links == alone
    assert waited == [os.getpid()]
    assert any(links.same_event) and any(links.related) and links.co_occurring
    here = os.getpid()
    [forked] = _pids(tmp_path / "same_event")
    assert forked != here  # computed in another process
    blocks = _pids(tmp_path / "related")
    assert len(blocks) == len(related.related_blocks(len(articles), RULES)) == 8
    if slow == "related":
        assert _pids(tmp_path / "co_occurring") == [forked]
        assert blocks.count(forked) >= 1 and blocks.count(here) >= 1
    else:
        assert _pids(tmp_path / "co_occurring") == [here]
        assert blocks == [here] * 8


def test_related_lists_do_not_depend_on_the_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    articles = chronological(*(random_article(rng, n) for n in range(300)))
    whole = related.related_articles(articles, RULES)
    monkeypatch.setattr(related, "MIN_BLOCK", 7)
    monkeypatch.setattr(related, "BLOCK", 7)
    assert len(related.related_blocks(len(articles), RULES)) == 43
    assert related.related_articles(articles, RULES) == whole
    assert sum(map(len, whole)) > 300


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


# -- kept in memory between builds (the watch server's process) -----------------
@pytest.fixture
def resident() -> Iterator[linkstate.ResidentLinks]:
    """The process's kept state, empty before and after the test."""
    linkstate.RESIDENT.forget()
    yield linkstate.RESIDENT
    linkstate.RESIDENT.forget()


class Spy:
    """Counts full or cache-based computations (the path a fresh process takes)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.previous: list[linkstate.LinkState | None] = []
        real = linkstate.compute_links

        def counting(articles, rules, same, previous, *more):  # type: ignore[no-untyped-def]
            self.previous.append(previous)
            return real(articles, rules, same, previous, *more)

        monkeypatch.setattr(linkstate, "compute_links", counting)


def by_identity(links: linkstate.ArticleLinks) -> tuple[object, ...]:
    """The lists with each article by identity: an equal copy of an old
    object would show that object's old card."""
    return ({slug: tuple(map(id, items)) for slug, items in links.related.items()},
            {slug: tuple(map(id, items)) for slug, items in links.same_event.items()},
            links.co_occurring)


def expected_links(articles: list[Article], same: SameEventRules = SAME
                   ) -> linkstate.ArticleLinks:
    links, _, _ = compute_links(articles, RULES, same, None)  # the module's own, never spied on
    return linkstate._by_slug(articles, links)


def mutate_kept(rng: random.Random, articles: list[Article], counter: list[int]
                ) -> list[Article]:
    """As mutate(), or an article replaced by a new object with the same link
    inputs (its summary edited), as a re-parsed file gives."""
    if rng.random() < 0.25:
        items = list(articles)
        victim = rng.randrange(len(items))
        items[victim] = replace(items[victim], summary=f"edited {counter[0]}")
        counter[0] += 1
        return items
    return mutate(rng, articles, counter)


# Many small tags: their article counts cross powers of two, moving their weights.
SMALL_TAGS = [f"s{n:02d}" for n in range(60)]


@pytest.mark.parametrize("seed,tags", [(1, TAGS), (2, TAGS), (3, SMALL_TAGS), (4, SMALL_TAGS)])
def test_links_kept_in_memory_equal_a_full_computation(
        seed: int, tags: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        resident: linkstate.ResidentLinks) -> None:
    rng = random.Random(seed)
    cache = open_cache(tmp_path / "build.sqlite")
    spy = Spy(monkeypatch)
    counter = [1000]
    articles = chronological(*(random_article(rng, n, tags) for n in range(250)))
    linkstate.link_articles(articles, RULES, SAME, cache)
    for step in range(40):
        articles = mutate_kept(rng, articles, counter)
        found = linkstate.link_articles(articles, RULES, SAME, cache)
        assert by_identity(found) == by_identity(expected_links(articles)), f"step {step}"
    # Only a change of the common tags (rare here) needs another full computation.
    assert len(spy.previous) <= 4
    assert any(found.same_event) and any(found.related)
    # A fresh process finds a state in the cache (perhaps a few changes behind)
    # and updates it to the same lists.
    resident.forget()
    found = linkstate.link_articles(articles, RULES, SAME, cache)
    assert isinstance(spy.previous[-1], linkstate.LinkState)
    assert by_identity(found) == by_identity(expected_links(articles))


def test_kept_same_event_lists_equal_scoring_every_pair(
        tmp_path: Path, resident: linkstate.ResidentLinks, candidate_path: str) -> None:
    rng = random.Random(11)
    same = SameEventRules(max_hours=24, min_score=0.35, common_tag_share=0.5, max_links=4)
    cache = open_cache(tmp_path / "build.sqlite")
    articles = random_event_articles(rng, 200)
    linkstate.link_articles(articles, RULES, same, cache)
    counter, linked = [1000], 0
    for _ in range(25):
        articles = mutate_kept(rng, articles, counter)
        found = linkstate.link_articles(articles, RULES, same, cache)
        reference = same_event_reference(articles, same)
        assert {a.slug: tuple(articles[n].slug for n in reference[k])
                for k, a in enumerate(articles) if reference[k]} \
            == {slug: tuple(a.slug for a in items) for slug, items in found.same_event.items()}
        linked += sum(map(len, found.same_event.values()))
    assert linked > 100


def test_articles_that_swap_places_are_linked_in_their_new_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        resident: linkstate.ResidentLinks) -> None:
    # Equal times: either order is chronological, and ties between equal
    # scores go to the earlier article, so the lists depend on the order.
    rng = random.Random(8)
    cache = open_cache(tmp_path / "build.sqlite")
    articles = chronological(*(random_article(rng, n) for n in range(60)))
    twins = [art(f"twin{n}", 50, ("t01", "t02"), title="同一时刻") for n in range(2)]
    articles = chronological(*articles, *twins)
    linkstate.link_articles(articles, RULES, SAME, cache)
    at = articles.index(twins[0])
    swapped = [*articles[:at], twins[1], twins[0], *articles[at + 2:]]
    found = linkstate.link_articles(swapped, RULES, SAME, cache)
    assert by_identity(found) == by_identity(expected_links(swapped))
    assert by_identity(found) != by_identity(expected_links(articles))


def test_the_state_is_written_to_the_cache_every_few_changes(
        tmp_path: Path, resident: linkstate.ResidentLinks) -> None:
    rng = random.Random(3)
    cache = open_cache(tmp_path / "build.sqlite")
    articles = chronological(*(random_article(rng, n) for n in range(80)))
    linkstate.link_articles(articles, RULES, SAME, cache)
    stamps = {cache.state_stamp("links")}
    for n in range(2 * linkstate.SAVE_AFTER_CHANGES):
        articles = chronological(*articles, random_article(rng, 100 + n))
        linkstate.link_articles(articles, RULES, SAME, cache)
        stamps.add(cache.state_stamp("links"))
    assert len(stamps) == 3  # the first build's, and one per SAVE_AFTER_CHANGES additions
    stored = cache.get_state("links")
    assert isinstance(stored, linkstate.LinkState) and stored.order == tuple(
        a.slug for a in articles)


@pytest.mark.parametrize("how", ["another build wrote the state", "the cache was deleted",
                                 "another cache", "other settings", "the update failed"])
def test_a_kept_state_is_used_only_while_it_is_the_cached_one(
        how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        resident: linkstate.ResidentLinks) -> None:
    rng = random.Random(6)
    cache = open_cache(tmp_path / "build.sqlite")
    articles = chronological(*(random_article(rng, n) for n in range(80)))
    linkstate.link_articles(articles, RULES, SAME, cache)
    rules = RULES
    if how == "another build wrote the state":
        others = chronological(*(random_article(rng, 100 + n) for n in range(30)))
        cache.put_state("links", compute_links(others, RULES, SAME, None)[1])
    elif how == "the cache was deleted":
        cache.close()
        remove_cache(tmp_path / "build.sqlite")
        cache = open_cache(tmp_path / "build.sqlite")
    elif how == "another cache":
        cache = open_cache(tmp_path / "other.sqlite")
    elif how == "other settings":
        rules = replace(RULES, count=2)
    else:
        real = linkstate._related_for

        def failing(*args):  # type: ignore[no-untyped-def]
            raise RuntimeError("interrupted")

        monkeypatch.setattr(linkstate, "_related_for", failing)
        with pytest.raises(RuntimeError):
            linkstate.link_articles([*articles, random_article(rng, 99)], RULES, SAME, cache)
        monkeypatch.setattr(linkstate, "_related_for", real)
    spy = Spy(monkeypatch)
    articles = chronological(*articles, random_article(rng, 200))
    found = linkstate.link_articles(articles, rules, SAME, cache)
    assert len(spy.previous) == 1  # read from the cache (or computed), not from memory
    links, _, _ = compute_links(articles, rules, SAME, None)
    assert by_identity(found) == by_identity(linkstate._by_slug(articles, links))


def test_without_a_cache_file_nothing_is_kept(resident: linkstate.ResidentLinks) -> None:
    rng = random.Random(2)
    articles = chronological(*(random_article(rng, n) for n in range(30)))
    for cache in (None, open_cache(None)):
        linkstate.link_articles(articles, RULES, SAME, cache)
        assert resident.live is None
