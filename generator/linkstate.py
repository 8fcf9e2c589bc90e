"""Links between articles, updated instead of recomputed when few articles changed.

The full computation (generator/related.py) costs about 1.7 s at 10,000
articles; a build that adds one article needs only the lists that article can
reach. What each list depends on is narrow:

* an article's related list depends on its tags, its `reach` neighbours on
  each side in each of those tags' timelines, the tags' weights (which move
  only when a tag's article count crosses a power of two) and their dates;
* its same-event list depends on the articles within `max_hours` of it and on
  which tags count as too common;
* a tag's co-occurring tags depend on the articles with that tag.

So after a change, only these lists are computed again, with the same
arithmetic as the full computation (integer weights, same tie-breaks; the
same-event lists by the full computation's own function, run on the
stretches of the timeline around the changes): the result equals a full
computation, which tests/test_linkstate.py checks over
random sequences of additions, edits and deletions. When too much changed
(settings, many files, a tag weight shared by thousands), it computes
everything, as before.

A long-running process (the watch server) keeps the last build's state in
memory (`RESIDENT`), with its timelines, instead of reading it back from the
cache and indexing all the articles again: there, an unchanged article is the
very object the last build had (cache._DecodedOutcomes), so what changed is
found by identity, and the timelines and lists are updated in place (≈0.3 of
the ≈0.35 s this stage took in a one-article rebuild at 10,000 articles). See ResidentLinks for when that
state is used, and when it is written to the cache.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from generator import related
from generator.groups import common_ends
from generator.models import Article
from generator.related import RelatedRules, SameEventRules

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext
    from pathlib import Path

    from generator.cache import BuildCache

# Above this many articles to redo, the vectorised full computation is quicker.
MAX_DIRTY_SHARE = 0.1
MIN_DIRTY_LIMIT = 200

# What the link lists read from an article: date, identity, tags, title.
Inputs = tuple[float, str, tuple[str, ...], str]


@dataclass(frozen=True)
class Links:
    """The link stage's result, by index into the chronological article list."""

    related: list[tuple[int, ...]]
    same_event: list[tuple[int, ...]]
    co_occurring: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class LinkState:
    """What the next build needs to update the lists instead of recomputing them."""

    rules: tuple[RelatedRules, SameEventRules]
    order: tuple[str, ...]  # slugs, chronological
    inputs: dict[str, Inputs]
    related: dict[str, tuple[str, ...]]
    same_event: dict[str, tuple[str, ...]]
    co_occurring: dict[str, tuple[str, ...]]
    common: frozenset[str]  # tags too common to count for same-event links


def compute_links(articles: Sequence[Article], rules: RelatedRules, same: SameEventRules,
                  previous: LinkState | None, workers: int = 1,
                  meanwhile: Callable[[], object] | None = None
                  ) -> tuple[Links, LinkState, bool]:
    """The links for `articles` (chronological), the state to keep, and whether
    they were updated from `previous` (False: computed in full; with
    `workers` > 1, in two processes, and then this one calls `meanwhile`
    while it waits for the other: work the caller would do next anyway)."""
    inputs = {a.slug: _inputs(a) for a in articles}
    common = _common_tags(articles, same)
    updated = None
    if previous is not None and previous.rules == (rules, same) \
            and len(inputs) == len(articles) and common == previous.common:
        # (Another set of common tags moves every same-event score: full computation.)
        updated = _update(articles, inputs, rules, same, previous)
    links = updated or _full(articles, rules, same, workers, meanwhile)
    return links, _state(articles, inputs, rules, same, links, common), updated is not None


def _inputs(article: Article) -> Inputs:
    return (article.published.timestamp(), article.uid, article.tags, article.title)


# From this many articles a full computation runs the same-event links and
# co-occurring tags in a forked process while this one finds related
# articles: nothing else runs during the link stage, so a core sat idle
# (at 10,000 articles ≈0.8 of ≈2.3 s; at 100,000, same-event links take ≈14 s).
PARALLEL_FROM = 2000


def _full(articles: Sequence[Article], rules: RelatedRules, same: SameEventRules,
          workers: int = 1, meanwhile: Callable[[], object] | None = None) -> Links:
    if workers < 2 or len(articles) < PARALLEL_FROM or not _can_fork():
        return Links(related.related_articles(articles, rules),
                     related.same_event_links(articles, same), related.co_occurring_tags(articles))
    global _FORKED_INPUT
    import multiprocessing

    forking = multiprocessing.get_context("fork")
    blocks = related.related_blocks(len(articles), rules)
    shares = _Shares(forking, len(blocks))
    _FORKED_INPUT = (articles, rules, same, blocks, shares)  # inherited, not pickled
    try:
        with forking.Pool(1) as pool:
            other = pool.apply_async(_forked_share)
            near = _related_blocks(articles, rules, blocks, shares.front)
            if meanwhile is not None:
                meanwhile()
            co_occurring = related.co_occurring_tags(articles) if shares.tags() else None
            events, forked_co_occurring, forked_near = other.get()
    finally:
        _FORKED_INPUT = None
    for index, found in forked_near.items():
        low, high = blocks[index]
        near[low:high] = found
    if co_occurring is None:
        assert forked_co_occurring is not None  # one of the two processes claimed them
        co_occurring = forked_co_occurring
    return Links(near, events, co_occurring)


class _Shares:
    """The link work two processes divide as they go, whichever finishes its
    own part first taking more: the blocks of related articles, which this
    process takes from the front and the forked one (after the same-event
    links) from the back, and the co-occurring tags, which go to whichever
    process asks first. At 10,000 articles related articles take longer
    (≈0.45 s against ≈0.25 s), at 100,000 the same-event links (≈4.4 s
    against ≈3.6 s), so a fixed split would leave a core idle either way."""

    def __init__(self, forking: BaseContext, blocks: int) -> None:
        self._ends = forking.RawArray("i", [0, blocks])  # the unclaimed blocks: [front, back)
        self._tags = forking.RawValue("b", 1)
        self._lock = forking.Lock()

    def front(self) -> int | None:
        with self._lock:
            if self._ends[0] >= self._ends[1]:
                return None
            self._ends[0] += 1
            return self._ends[0] - 1

    def back(self) -> int | None:
        with self._lock:
            if self._ends[0] >= self._ends[1]:
                return None
            self._ends[1] -= 1
            return self._ends[1]

    def tags(self) -> bool:
        """True for the first process to ask for the co-occurring tags."""
        with self._lock:
            first = bool(self._tags.value)
            self._tags.value = 0
        return first


def _related_blocks(articles: Sequence[Article], rules: RelatedRules,
                    blocks: Sequence[tuple[int, int]], claim: Callable[[], int | None]
                    ) -> list[tuple[int, ...]]:
    """The related lists of the blocks `claim` hands out, until it has none
    (the others stay empty)."""
    found: list[tuple[int, ...]] = [() for _ in articles]
    index = claim()
    if index is None:
        return found
    plan = related.RelatedPlan(articles, rules)
    while index is not None:
        plan.fill(*blocks[index], found)
        index = claim()
    return found


_FORKED_INPUT: tuple[Sequence[Article], RelatedRules, SameEventRules,
                     list[tuple[int, int]], _Shares] | None = None


def _forked_share() -> tuple[list[tuple[int, ...]], dict[str, tuple[str, ...]] | None,
                             dict[int, list[tuple[int, ...]]]]:
    """The forked process's part: the same-event links, then the co-occurring
    tags if still unclaimed, then blocks of related articles from the back
    while any are left (by block number)."""
    assert _FORKED_INPUT is not None
    articles, rules, same, blocks, shares = _FORKED_INPUT
    events = related.same_event_links(articles, same)
    co_occurring = related.co_occurring_tags(articles) if shares.tags() else None
    taken: list[int] = []

    def claim() -> int | None:
        index = shares.back()
        if index is not None:
            taken.append(index)
        return index

    found = _related_blocks(articles, rules, blocks, claim)
    return events, co_occurring, {index: found[slice(*blocks[index])] for index in taken}


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _state(articles: Sequence[Article], inputs: dict[str, Inputs], rules: RelatedRules,
           same: SameEventRules, links: Links, common: frozenset[str]) -> LinkState:
    slugs = tuple(a.slug for a in articles)
    return LinkState((rules, same), slugs, inputs,
                     {s: tuple(slugs[i] for i in links.related[n]) for n, s in enumerate(slugs)},
                     {s: tuple(slugs[i] for i in links.same_event[n])
                      for n, s in enumerate(slugs) if links.same_event[n]},
                     links.co_occurring, common)


def _common_tags(articles: Sequence[Article], rules: SameEventRules) -> frozenset[str]:
    counts = related.tag_counts(articles)
    limit = related.common_limit(len(articles), rules)
    return frozenset(t for t, n in counts.items() if n > limit)



# -- updating ------------------------------------------------------------------
class _Timeline:
    """Articles in time order with their tag postings (slugs, in time order)."""

    def __init__(self, order: Sequence[str], inputs: Mapping[str, Inputs],
                 index: Mapping[str, int], times: Sequence[float],
                 postings: dict[str, list[str]]) -> None:
        self.order = order
        self.inputs = inputs
        self.index = index
        self.times = times
        self.postings = postings

    def position(self, tag: str, slug: str) -> int:
        """Where `slug` sits in the tag's posting (postings are in `index` order)."""
        posting = self.postings[tag]
        at = bisect_left(posting, self.index[slug], key=self.index.__getitem__)
        assert posting[at] == slug, (tag, slug)
        return at

    def tag_neighbours(self, slug: str, reach: int) -> set[str]:
        """`slug` and the `reach` articles on each side of it in each of its tags."""
        found = {slug}
        for tag in self.inputs[slug][2]:
            posting = self.postings[tag]
            at = self.position(tag, slug)
            found.update(posting[max(0, at - reach): at + reach + 1])
        return found

    def time_neighbours(self, slug: str, window: float) -> set[str]:
        """`slug` and the articles at most `window` seconds from it (a few more
        at the edges: a superset is safe)."""
        at = self.index[slug]
        start = bisect_left(self.times, self.times[at] - window - 1)
        found = set()
        for n in range(start, len(self.order)):
            if self.times[n] > self.times[at] + window + 1:
                break
            found.add(self.order[n])
        return found


def _timeline(order: Sequence[str], inputs: Mapping[str, Inputs],
              tags: set[str] | None = None) -> _Timeline:
    """The timeline of `order`; with `tags`, postings of those tags only."""
    postings: dict[str, list[str]] = {}
    for slug in order:
        for tag in inputs[slug][2]:
            if tags is None or tag in tags:
                if tag in postings:
                    postings[tag].append(slug)
                else:
                    postings[tag] = [slug]
    return _Timeline(order, inputs, {slug: n for n, slug in enumerate(order)},
                     [inputs[slug][0] for slug in order], postings)


def _update(articles: Sequence[Article], inputs: dict[str, Inputs], rules: RelatedRules,
            same: SameEventRules, previous: LinkState) -> Links | None:
    """The links updated from `previous`; None when a full computation is the
    better (or the only safe) choice."""
    changed = [slug for slug, value in inputs.items() if previous.inputs.get(slug) != value]
    removed = [slug for slug in previous.inputs if slug not in inputs]
    limit = max(MIN_DIRTY_LIMIT, int(MAX_DIRTY_SHARE * len(articles)))
    if len(changed) + len(removed) > limit:
        return None
    new = _timeline([a.slug for a in articles], inputs)
    if not _same_order(previous.order, new.order, {*changed, *removed}):
        return None
    touched = {t for slug in changed + removed for side in (previous.inputs, inputs)
               if slug in side for t in side[slug][2]}
    old = _timeline(previous.order, previous.inputs, touched)
    reach = max(1, rules.per_tag // 2)
    redo_related = _related_dirty(changed, removed, old, new, reach)
    if redo_related is None or len(redo_related) > limit:
        return None
    window = same.max_hours * 3600
    redo_same = set(changed)
    for slug in changed + removed:
        for timeline in (old, new):
            if slug in timeline.index:
                redo_same |= timeline.time_neighbours(slug, window)
    redo_same &= inputs.keys()
    slugs = new.order
    index = new.index
    related_lists = [tuple(index[s] for s in (_related_for(slug, new, rules)
                                               if slug in redo_related else previous.related[slug]))
                     for slug in slugs]
    fresh = _same_lists(sorted(index[slug] for slug in redo_same), articles, new.times, same,
                        previous.common)
    same_lists = [fresh[n] if n in fresh
                  else tuple(index[s] for s in previous.same_event.get(slug, ()))
                  for n, slug in enumerate(slugs)]
    return Links(related_lists, same_lists,
                 _co_occurring(changed, removed, old, new, previous.co_occurring))


def _same_order(before: Sequence[str], now: Sequence[str], moved: set[str]) -> bool:
    """Whether the articles not in `moved` are in the same order in both. The
    collector orders by (time, identity), which are link inputs, so they are;
    but a list that relied on it would go stale unseen if that ever changed
    (the unchanged lists are taken over by slug, their ties by index)."""
    return [s for s in before if s not in moved] == [s for s in now if s not in moved]


def _related_dirty(changed: list[str], removed: list[str], old: _Timeline, new: _Timeline,
                   reach: int) -> set[str] | None:
    """Articles whose related list may differ: the changed ones, their tag
    neighbours before and after the change, and every article of a tag whose
    weight moved."""
    dirty = set(changed)
    for slug in changed + removed:
        for timeline in (old, new):
            if slug in timeline.index:
                dirty |= timeline.tag_neighbours(slug, reach)
    # Only a changed article's tags can change count (old holds just those).
    for tag in old.postings:
        before, after = len(old.postings[tag]), len(new.postings.get(tag, ()))
        if before != after and related.weight_units(before) != related.weight_units(after):
            dirty.update(new.postings.get(tag, ()))
    return dirty & new.index.keys()


def _neighbours(slugs: Sequence[str], timeline: _Timeline, reach: int, window: float
                ) -> tuple[set[str], set[str]]:
    """The articles whose related lists (first) and same-event lists (second)
    may show any of `slugs`, or be changed by them; with `slugs` themselves."""
    by_tags, by_time = set(slugs), set(slugs)
    for slug in slugs:
        by_tags |= timeline.tag_neighbours(slug, reach)
        by_time |= timeline.time_neighbours(slug, window)
    return by_tags, by_time


def _related_for(slug: str, timeline: _Timeline, rules: RelatedRules) -> tuple[str, ...]:
    """One article's related list (slugs), as related.related_articles computes
    it: the same float operations in the same order, so equal scores tie the
    same way (by chronological index). An update runs it for ≈130 articles
    per changed one, hence the local names."""
    reach = max(1, rules.per_tag // 2)
    inputs, index = timeline.inputs, timeline.index
    units: dict[str, int] = {}
    units_of = units.get
    for tag in inputs[slug][2]:
        posting = timeline.postings[tag]
        at = timeline.position(tag, slug)
        weight = related.weight_units(len(posting))
        for other in posting[max(0, at - reach): at]:
            units[other] = units_of(other, 0) + weight
        for other in posting[at + 1: at + reach + 1]:
            units[other] = units_of(other, 0) + weight
    when, scale, decay = inputs[slug][0], related.WEIGHT_SCALE, rules.decay_days
    scored = [(-((total / scale) / (1.0 + (abs(when - inputs[other][0]) / 86400.0) / decay)),
               index[other]) for other, total in units.items()]
    scored.sort()
    order = timeline.order
    return tuple(order[n] for _, n in scored[: rules.count])


def _same_lists(redo: Sequence[int], articles: Sequence[Article], times: Sequence[float],
                rules: SameEventRules, common: frozenset[str]) -> dict[int, tuple[int, ...]]:
    """The same-event lists of the articles at `redo` (ascending), by
    related.same_event_lists itself, run on each stretch of the timeline that
    holds those articles' windows: a list depends on its window only."""
    lists: dict[int, tuple[int, ...]] = {}
    for low, high in _stretches(redo, times, rules.max_hours * 3600):
        features = [related.event_features(a, common) for a in articles[low:high]]
        found = related.same_event_lists(features, times[low:high], rules)
        for n in redo[bisect_left(redo, low): bisect_left(redo, high)]:
            lists[n] = tuple(low + k for k in found[n - low])
    return lists


def _stretches(redo: Sequence[int], times: Sequence[float], window: float
               ) -> list[tuple[int, int]]:
    """Disjoint index ranges [low, high) covering each of `redo` (ascending) and
    everything within `window` seconds of it (a second more at the edges: a
    superset is safe, the window test is made again on each pair)."""
    stretches: list[tuple[int, int]] = []
    for at in redo:
        # min/max: `at` itself is always in, whatever the window (even NaN).
        low = min(at, bisect_left(times, times[at] - window - 1))
        high = max(at + 1, bisect_right(times, times[at] + window + 1, lo=at))
        if stretches and low <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(high, stretches[-1][1]))
        else:
            stretches.append((low, high))
    return stretches


def _co_occurring(changed: list[str], removed: list[str], old: _Timeline, new: _Timeline,
                  previous: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Co-occurring tags again for the tags of changed articles only, in the
    order the full computation gives (first use in time)."""
    touched: set[str] = set()
    for slug in changed + removed:
        for timeline in (old, new):
            if slug in timeline.inputs:
                touched.update(timeline.inputs[slug][2])
    fresh = related.co_occurring_for(
        {t: [new.inputs[s][2] for s in new.postings[t]] for t in touched if t in new.postings})
    return {t: fresh[t] if t in fresh else previous[t] for t in new.postings}


# -- kept in this process ------------------------------------------------------
@dataclass(frozen=True)
class ArticleLinks:
    """The link lists as the site model takes them: by slug, the articles themselves."""

    related: dict[str, tuple[Article, ...]]  # every article
    same_event: dict[str, tuple[Article, ...]]  # only articles that have some
    co_occurring: dict[str, tuple[str, ...]]


# How many changed articles the state kept in memory may run ahead of the
# cache's copy before it is written again. Writing it (≈0.03 s at 10,000
# articles) on every rebuild would cost about as much as the rest of the
# update; a fresh process that reads an older copy still updates it, only
# with a few more changed articles (≈0.03 s each), and never gets a wrong list:
# any state written is a complete one, of the articles it lists.
SAVE_AFTER_CHANGES = 8


def link_articles(articles: Sequence[Article], rules: RelatedRules, same: SameEventRules,
                  cache: BuildCache | None, workers: int = 1, warm: bool = False,
                  meanwhile: Callable[[], object] | None = None) -> ArticleLinks:
    """The links of `articles` (chronological, unique slugs): updated in
    memory from this process's last build when it may be (ResidentLinks),
    else computed by compute_links from the cache's state and stored there.
    With `warm`, the state kept is made ready for its first update."""
    live = RESIDENT.take(cache)
    if live is not None:
        changes = live.update(articles, rules, same)
        if changes is not None:
            assert cache is not None  # take() gives a state only for a cache
            RESIDENT.keep_updated(cache, live, changes)
            if warm:
                live.warm()
            return live.links()
    previous = cache.get_state("links") if cache is not None else None
    links, state, _ = compute_links(articles, rules, same,
                                    previous if isinstance(previous, LinkState) else None,
                                    workers, meanwhile)
    if cache is not None:
        cache.put_state("links", state)
    live = _LiveLinks(state, articles, _by_slug(articles, links))
    RESIDENT.keep_stored(cache, live)
    if warm:
        live.warm()
    return live.links()


def _by_slug(articles: Sequence[Article], links: Links) -> ArticleLinks:
    return ArticleLinks(
        {a.slug: tuple(articles[i] for i in links.related[n]) for n, a in enumerate(articles)},
        {a.slug: tuple(articles[i] for i in links.same_event[n])
         for n, a in enumerate(articles) if links.same_event[n]},
        dict(links.co_occurring))


class ResidentLinks:
    """This process's link state after its last build, and the cache it belongs to.

    It is used instead of the cache's copy only while that copy is the one
    this process last wrote: same cache file, and the file's identity, size
    and time unchanged (cache.state_stamp). Another build that wrote the
    state (a CLI build of the same content folder, a --clean build that
    deleted the cache first) or another cache makes the next build read the
    cache as a fresh process does. Settings are compared by the update
    itself. A build that fails while updating leaves no state here (take()
    hands it over), so a half-updated state is never used. The state is
    written back to the cache after SAVE_AFTER_CHANGES changed articles."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """What a fresh process starts with."""
        self.live: _LiveLinks | None = None
        self.cache_path: Path | None = None
        self.stamp: tuple[int, ...] | None = None
        self.unsaved = 0  # changed articles the cache's copy does not know of

    def take(self, cache: BuildCache | None) -> _LiveLinks | None:
        """The kept state if it may be used with `cache`; it is no longer kept."""
        live, self.live = self.live, None
        if live is None or cache is None or cache.path is None or self.stamp is None \
                or cache.path != self.cache_path or cache.state_stamp("links") != self.stamp:
            return None
        return live

    def keep_stored(self, cache: BuildCache | None, live: _LiveLinks) -> None:
        """Keep a state just written to `cache` (none without a cache file)."""
        stamp = cache.state_stamp("links") if cache is not None else None
        self.forget()
        if cache is not None and stamp is not None:
            self.live, self.cache_path, self.stamp = live, cache.path, stamp

    def keep_updated(self, cache: BuildCache, live: _LiveLinks, changes: int) -> None:
        """Keep a state updated in memory after `changes` changed articles."""
        self.unsaved += changes
        if self.unsaved >= SAVE_AFTER_CHANGES:
            cache.put_state("links", live.snapshot())
            self.keep_stored(cache, live)
        else:
            self.live = live


RESIDENT = ResidentLinks()


@dataclass(frozen=True)
class _Change:
    """What differs between the kept state's articles and a build's."""

    changed: dict[str, Inputs]  # new articles, and those whose link inputs differ
    replaced: list[str]  # same inputs, another Article object (its card may differ)
    removed: list[str]
    same_ends: tuple[int, int]  # how many articles both lists start and end with

    @property
    def size(self) -> int:
        """How many articles the lists change for."""
        return len(self.changed) + len(self.removed)


def _tag_counts(posting: Sequence[str], inputs: Mapping[str, Inputs]) -> Counter[str]:
    """The tags of a tag's articles, counted."""
    return Counter(chain.from_iterable(inputs[slug][2] for slug in posting))


class _LiveLinks:
    """A build's links with what updating them in place needs: the slug lists
    of LinkState, the same lists as articles, the timelines and, for the tags
    that were touched, their co-occurrence counts. The timelines are built by
    the first update, so a one-off build does not pay for them."""

    def __init__(self, state: LinkState, articles: Sequence[Article],
                 found: ArticleLinks) -> None:
        self.rules = state.rules
        self.inputs = state.inputs
        self.related = state.related
        self.same_event = state.same_event
        self.co_occurring = dict(state.co_occurring)
        self.common = state.common
        self.related_articles = found.related
        self.event_articles = found.same_event
        self.last = tuple(articles)  # as the last build listed them
        self.articles: dict[str, Article] = {}  # by slug, with the timeline
        self.timeline: _Timeline | None = None
        self.tag_counts: dict[str, Counter[str]] = {}  # tag → tags of its articles, counted

    def links(self) -> ArticleLinks:
        """The lists, in dicts of their own: the next update changes these in place."""
        return ArticleLinks(dict(self.related_articles), dict(self.event_articles),
                            dict(self.co_occurring))

    def snapshot(self) -> LinkState:
        """The state as the cache stores it (read by compute_links)."""
        assert self.timeline is not None
        return LinkState(self.rules, tuple(self.timeline.order), self.inputs, self.related,
                         self.same_event, self.co_occurring, self.common)

    def update(self, articles: Sequence[Article], rules: RelatedRules,
               same: SameEventRules) -> int | None:
        """Bring every list up to `articles`; how many articles changed, or
        None when the lists are to be computed in full (this state is then
        left half-updated, and must be dropped)."""
        if self.rules != (rules, same):
            return None
        old = self._indexed()
        index = {a.slug: n for n, a in enumerate(articles)}
        if old is None or len(index) != len(articles):
            return None
        change = self._change(articles, old, index)
        limit = max(MIN_DIRTY_LIMIT, int(MAX_DIRTY_SHARE * len(articles)))
        if change is None or change.size > limit:
            return None
        if change.size == 0 and not change.replaced:
            return 0
        reach, window = max(1, rules.per_tag // 2), same.max_hours * 3600
        leaving = [slug for slug in change.changed if slug in old.index] + change.removed
        related_before, same_before = _neighbours(leaving, old, reach, window)
        counts_before = self._move(change, leaving, old, index)
        new = self._moved_timeline(old, articles, index, change.same_ends)
        self.last, self.timeline = tuple(articles), new
        if self._common_tags(len(articles), same) != self.common:
            return None  # every same-event score may move
        related_after, same_after = _neighbours(list(change.changed), new, reach, window)
        redo_related = (related_before | related_after | self._reweighed(counts_before)) \
            & index.keys()
        if len(redo_related) > limit:
            return None
        redo_same = (same_before | same_after) & index.keys()
        for slug in redo_related:
            self.related[slug] = _related_for(slug, new, rules)
        self._redo_same_event(redo_same, articles, new, same)
        for tag in counts_before:
            self._recount(tag)
        # The lists that show a replaced article show its new object from now on.
        showing = set().union(*_neighbours(change.replaced, new, reach, window))
        self._relink(redo_related | redo_same | showing, change, articles, index)
        return change.size

    def warm(self) -> None:
        """Make now what the first update would make (the timeline, every
        tag's co-occurrence counts: ≈0.5 s at 10,000 articles), for a process
        that will update soon and should not wait for them then."""
        if self._indexed() is None:
            return
        for tag, posting in self.postings.items():
            if tag not in self.tag_counts:
                self.tag_counts[tag] = _tag_counts(posting, self.inputs)

    def _moved_timeline(self, old: _Timeline, articles: Sequence[Article],
                        index: dict[str, int], same_ends: tuple[int, int]) -> _Timeline:
        """The timeline of `articles`, with the old one's order and times where
        the two lists are the same (sliced in C)."""
        start, end = same_ends
        middle = [a.slug for a in articles[start: len(articles) - end]]
        tail = len(old.order) - end
        order = [*old.order[:start], *middle, *old.order[tail:]]
        times = [*old.times[:start], *(self.inputs[s][0] for s in middle), *old.times[tail:]]
        return _Timeline(order, self.inputs, index, times, self.postings)

    @property
    def postings(self) -> dict[str, list[str]]:
        assert self.timeline is not None
        return self.timeline.postings

    def _indexed(self) -> _Timeline | None:
        """The timeline of the articles the state was built from (built on
        first use); None if an article lists a tag twice (a posting would
        hold it twice, and positions in it would be ambiguous)."""
        if self.timeline is None:
            if any(len(set(value[2])) != len(value[2]) for value in self.inputs.values()):
                return None
            self.timeline = _timeline([a.slug for a in self.last], self.inputs)
            self.articles = {a.slug: a for a in self.last}
        return self.timeline

    def _change(self, articles: Sequence[Article], old: _Timeline,
                index: Mapping[str, int]) -> _Change | None:
        """What changed, found by identity (an unchanged article is the object
        the last build had); None if the articles that did not change are no
        longer in the same order (the postings would be out of order)."""
        changed: dict[str, Inputs] = {}
        replaced: list[str] = []
        known, inputs, old_index = self.articles, self.inputs, old.index
        # Slugs are unique in both lists, so the objects both lists start and
        # end with are where they were, and the others are in the middles.
        start, end = common_ends(self.last, articles)
        last = -1
        for article in articles[start: len(articles) - end]:
            slug = article.slug
            before = known.get(slug)
            if before is not article:
                value = _inputs(article)
                if before is None or value != inputs[slug]:
                    if len(set(value[2])) != len(value[2]):
                        return None
                    changed[slug] = value
                    continue
                replaced.append(slug)
            at = old_index[slug]
            if at < last:
                return None
            last = at
        left = [a.slug for a in self.last[start: len(self.last) - end] if a.slug not in index]
        return _Change(changed, replaced, sorted(left), (start, end))

    def _move(self, change: _Change, leaving: list[str], old: _Timeline,
              index: Mapping[str, int]) -> dict[str, int]:
        """Take the leaving articles out of the postings and put the changed
        ones in (in the new order); each touched tag's posting length before."""
        before: dict[str, int] = {}
        postings = self.postings
        for slug in leaving:  # positions by the old order, before any insertion
            tags = self.inputs[slug][2]
            for tag in tags:
                before.setdefault(tag, len(postings[tag]))
                del postings[tag][old.position(tag, slug)]
            self._count(tags, -1)
        for slug in change.removed:
            del self.inputs[slug]
        self.inputs.update(change.changed)
        for slug, value in change.changed.items():
            for tag in value[2]:
                posting = postings.setdefault(tag, [])
                before.setdefault(tag, len(posting))
                insort(posting, slug, key=index.__getitem__)
            self._count(value[2], 1)
        for tag in before:
            if not postings[tag]:
                del postings[tag]
                self.tag_counts.pop(tag, None)
        return before

    def _count(self, tags: tuple[str, ...], step: int) -> None:
        """Count (or uncount) an article's tags for each of its tags whose
        counts are kept; counts that reach 0 are dropped, as Counter() has none."""
        for tag in tags:
            counts = self.tag_counts.get(tag)
            if counts is not None:
                for other in tags:
                    total = counts[other] + step
                    if total:
                        counts[other] = total
                    else:
                        del counts[other]

    def _common_tags(self, total: int, same: SameEventRules) -> frozenset[str]:
        """As _common_tags() counts them, from the postings' lengths."""
        limit = related.common_limit(total, same)
        return frozenset(tag for tag, posting in self.postings.items() if len(posting) > limit)

    def _reweighed(self, counts_before: dict[str, int]) -> set[str]:
        """Every article of a tag whose weight moved with its article count."""
        found: set[str] = set()
        for tag, before in counts_before.items():
            posting = self.postings.get(tag, [])
            if related.weight_units(before) != related.weight_units(len(posting)):
                found.update(posting)
        return found

    def _redo_same_event(self, redo: set[str], articles: Sequence[Article], new: _Timeline,
                         same: SameEventRules) -> None:
        fresh = _same_lists(sorted(new.index[slug] for slug in redo), articles, new.times,
                            same, self.common)
        for at, found in fresh.items():
            if found:
                self.same_event[new.order[at]] = tuple(new.order[n] for n in found)
            else:
                self.same_event.pop(new.order[at], None)

    def _recount(self, tag: str) -> None:
        """The co-occurring tags of a touched tag, from its running counts
        (counted here the first time the tag is touched)."""
        posting = self.postings.get(tag)
        if posting is None:
            self.co_occurring.pop(tag, None)
            return
        counts = self.tag_counts.get(tag)
        if counts is None:
            counts = self.tag_counts[tag] = _tag_counts(posting, self.inputs)
        self.co_occurring[tag] = related.most_co_occurring(counts, tag)

    def _relink(self, slugs: set[str], change: _Change, articles: Sequence[Article],
                index: Mapping[str, int]) -> None:
        """The article lists of `slugs` again, from their slug lists, with this
        build's objects; the removed articles' lists dropped."""
        for slug in change.removed:
            del self.articles[slug], self.related[slug], self.related_articles[slug]
            self.same_event.pop(slug, None)
            self.event_articles.pop(slug, None)
        for slug in chain(change.changed, change.replaced):
            self.articles[slug] = articles[index[slug]]
        for slug in slugs:
            self.related_articles[slug] = tuple(articles[index[s]] for s in self.related[slug])
            events = self.same_event.get(slug)
            if events:
                self.event_articles[slug] = tuple(articles[index[s]] for s in events)
            else:
                self.event_articles.pop(slug, None)
