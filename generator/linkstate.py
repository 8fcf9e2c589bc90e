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
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Sequence

from generator import related
from generator.models import Article
from generator.related import RelatedRules, SameEventRules

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
                  previous: LinkState | None, workers: int = 1
                  ) -> tuple[Links, LinkState, bool]:
    """The links for `articles` (chronological), the state to keep, and whether
    they were updated from `previous` (False: computed in full; with
    `workers` > 1, in two processes)."""
    inputs = {a.slug: _inputs(a) for a in articles}
    common = _common_tags(articles, same)
    updated = None
    if previous is not None and previous.rules == (rules, same) \
            and len(inputs) == len(articles) and common == previous.common:
        # (Another set of common tags moves every same-event score: full computation.)
        updated = _update(articles, inputs, rules, same, previous)
    links = updated or _full(articles, rules, same, workers)
    return links, _state(articles, inputs, rules, same, links, common), updated is not None


def _inputs(article: Article) -> Inputs:
    return (article.published.timestamp(), article.uid, article.tags, article.title)


# From this many articles a full computation runs the same-event links and
# co-occurring tags in a forked process while this one finds related
# articles: nothing else runs during the link stage, so a core sat idle
# (at 10,000 articles ≈0.8 of ≈2.3 s; at 100,000, same-event links take ≈14 s).
PARALLEL_FROM = 2000


def _full(articles: Sequence[Article], rules: RelatedRules, same: SameEventRules,
          workers: int = 1) -> Links:
    if workers < 2 or len(articles) < PARALLEL_FROM or not _can_fork():
        return Links(related.related_articles(articles, rules), *_events_and_tags(articles, same))
    global _FORKED_INPUT
    import multiprocessing

    _FORKED_INPUT = (articles, same)  # inherited by the forked process, not pickled
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            other = pool.apply_async(_forked_events_and_tags)
            near = related.related_articles(articles, rules)
            events, co_occurring = other.get()
    finally:
        _FORKED_INPUT = None
    return Links(near, events, co_occurring)


_FORKED_INPUT: tuple[Sequence[Article], SameEventRules] | None = None


def _forked_events_and_tags() -> tuple[list[tuple[int, ...]], dict[str, tuple[str, ...]]]:
    assert _FORKED_INPUT is not None
    return _events_and_tags(*_FORKED_INPUT)


def _events_and_tags(articles: Sequence[Article], same: SameEventRules
                     ) -> tuple[list[tuple[int, ...]], dict[str, tuple[str, ...]]]:
    return related.same_event_links(articles, same), related.co_occurring_tags(articles)


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
    """Articles in time order with their tag postings (slugs), for one build;
    with `tags`, postings of those tags only."""

    def __init__(self, order: Sequence[str], inputs: dict[str, Inputs],
                 tags: set[str] | None = None) -> None:
        self.order = order
        self.inputs = inputs
        self.index = {slug: n for n, slug in enumerate(order)}
        self.times = [inputs[slug][0] for slug in order]
        self.postings: dict[str, list[str]] = {}
        self._positions: dict[str, dict[str, int]] = {}
        postings = self.postings
        for slug in order:
            for tag in inputs[slug][2]:
                if tags is None or tag in tags:
                    if tag in postings:
                        postings[tag].append(slug)
                    else:
                        postings[tag] = [slug]

    def position(self, tag: str, slug: str) -> int:
        """Where `slug` sits in the tag's posting (an index per tag, built once)."""
        found = self._positions.get(tag)
        if found is None:
            found = self._positions[tag] = {s: n for n, s in enumerate(self.postings[tag])}
        return found[slug]

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


def _update(articles: Sequence[Article], inputs: dict[str, Inputs], rules: RelatedRules,
            same: SameEventRules, previous: LinkState) -> Links | None:
    """The links updated from `previous`; None when a full computation is the
    better (or the only safe) choice."""
    changed = [slug for slug, value in inputs.items() if previous.inputs.get(slug) != value]
    removed = [slug for slug in previous.inputs if slug not in inputs]
    limit = max(MIN_DIRTY_LIMIT, int(MAX_DIRTY_SHARE * len(articles)))
    if len(changed) + len(removed) > limit:
        return None
    new = _Timeline([a.slug for a in articles], inputs)
    touched = {t for slug in changed + removed for side in (previous.inputs, inputs)
               if slug in side for t in side[slug][2]}
    old = _Timeline(previous.order, previous.inputs, touched)
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
    related_lists = [_related_for(slug, new, rules) if slug in redo_related
                     else tuple(index[s] for s in previous.related[slug]) for slug in slugs]
    fresh = _same_lists(sorted(index[slug] for slug in redo_same), articles, new.times, same,
                        previous.common)
    same_lists = [fresh[n] if n in fresh
                  else tuple(index[s] for s in previous.same_event.get(slug, ()))
                  for n, slug in enumerate(slugs)]
    return Links(related_lists, same_lists,
                 _co_occurring(changed, removed, old, new, previous.co_occurring))


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


def _related_for(slug: str, timeline: _Timeline, rules: RelatedRules) -> tuple[int, ...]:
    """One article's related list, as related.related_articles computes it."""
    reach = max(1, rules.per_tag // 2)
    units: dict[str, int] = {}
    for tag in timeline.inputs[slug][2]:
        posting = timeline.postings[tag]
        at = timeline.position(tag, slug)
        weight = related.weight_units(len(posting))
        for other in posting[max(0, at - reach): at] + posting[at + 1: at + reach + 1]:
            units[other] = units.get(other, 0) + weight
    when = timeline.inputs[slug][0]
    scored = []
    for other, total in units.items():
        days = abs(when - timeline.inputs[other][0]) / 86400.0
        score = (total / related.WEIGHT_SCALE) / (1.0 + days / rules.decay_days)
        scored.append((-score, timeline.index[other]))
    scored.sort()
    return tuple(n for _, n in scored[: rules.count])


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
