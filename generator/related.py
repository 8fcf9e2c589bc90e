"""Links between articles: related articles, same-event reports, co-occurring tags.

Nothing here compares every pair of articles. Related articles come from an
inverted index (tag → articles in time order) scanned only near each
article's date; same-event pairs from inverted indexes (specific tag, and a
few rare title bigrams → the articles of the last `max_hours`) kept in one
pass over the chronological list. Both stay near-linear at 100,000 articles.

Related articles
    score(a, b) = Σ rarity(t) over the tags t shared by a and b that were found
    within each tag's time neighbourhood, × 1 / (1 + |days between| / decay_days).
    rarity(t) = 1 / (1 + ⌊log2 df(t)⌋), df(t) the number of articles with the tag:
    a tag on one article weighs 1, on 2–3 articles ½, on 4–7 ⅓, and so on.
    The weight depends on df in powers of two, not on the corpus size, so adding
    one article almost never reorders the related lists of articles that do
    not share its tags; a pure idf would nudge every list on every build.
    Each tag contributes at most `per_tag` candidates: the per_tag/2 articles
    just before and just after in that tag's own timeline.

Same event, other report
    Two articles are one event when they are at most `max_hours` apart and
        0.5 × title similarity + 0.5 × tag overlap ≥ `min_score`
    with title similarity the Dice coefficient of the titles' character
    bigrams and tag overlap the Jaccard index of their specific tags (tags on
    more than `common_tag_share` of all articles, and on more than
    `common_tag_min` articles, like 乌克兰, are ignored).

    Scoring every pair in the window would cost (articles per window)² per
    window: at 100,000 articles, 137 per 36 h, most of the link stage. But a
    pair can only pass if it shares a specific tag or, with no tag in common
    (overlap 0), its title Dice alone reaches 2 × min_score, which a prefix
    filter finds through a handful of each title's rarest bigrams
    (`title_prefixes`). Only those candidates are scored, with the same
    expression, so the lists are those of the exhaustive scan. Where windows
    are sparse (under `INDEX_FROM_PAIRS` pairs per article, as at 10,000
    articles) building the indexes costs more than it saves, and every pair
    in the window that shares anything is scored instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from itertools import chain
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

if TYPE_CHECKING:
    import numpy as np

from generator.models import Article


@dataclass(frozen=True)
class RelatedRules:
    count: int = 5
    per_tag: int = 30
    decay_days: float = 30.0


@dataclass(frozen=True)
class SameEventRules:
    max_hours: float = 36.0
    min_score: float = 0.35
    common_tag_share: float = 0.2
    common_tag_min: int = 10  # below this many articles no tag counts as common
    max_links: int = 5


def _days(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds()) / 86400.0


def tag_postings(articles: Sequence[Article]) -> dict[str, list[int]]:
    """Tag → indices of its articles, in the (chronological) order given."""
    postings: dict[str, list[int]] = defaultdict(list)
    for index, article in enumerate(articles):
        for tag in article.tags:
            postings[tag].append(index)
    return postings


# Articles whose candidates are scored together: bounds the pair arrays at
# about 30 MB (≈10 tags × 30 candidates each) however large the archive.
BLOCK = 4096  # below 2**15: see _pick_best
# Blocks are smaller in smaller archives, down to this many articles, so that
# two processes can share the work (linkstate._full): each block costs a
# fixed ≈2 ms besides its articles.
MIN_BLOCK = 1024


def related_articles(articles: Sequence[Article], rules: RelatedRules) -> list[tuple[int, ...]]:
    """For each article (chronological input), up to `count` indices of related ones.

    Vectorised with NumPy, one block of articles at a time: every (article,
    candidate, weight) triple from the tag postings goes into flat arrays,
    weights of one pair are summed with a single sort, and each article's best
    candidates are picked with another.
    """
    result: list[tuple[int, ...]] = [() for _ in articles]
    plan = RelatedPlan(articles, rules)
    for low, high in plan.blocks():
        plan.fill(low, high, result)
    return result


def related_blocks(total: int, rules: RelatedRules) -> list[tuple[int, int]]:
    """The [low, high) ranges of articles scored together, in order (none
    when there is nothing to relate). Any split gives the same lists."""
    if total < 2 or rules.count == 0:
        return []
    size = min(BLOCK, max(MIN_BLOCK, -(-total // 8)))
    return [(low, min(total, low + size)) for low in range(0, total, size)]


class RelatedPlan:
    """What every block of related_articles needs: the tags' postings as
    arrays with their weights, and the articles' times."""

    def __init__(self, articles: Sequence[Article], rules: RelatedRules) -> None:
        import numpy as np  # imported here: a no-change rebuild never needs it

        self.rules = rules
        self.total = len(articles)
        self.postings = [(np.asarray(items, dtype=np.int64), weight_units(len(items)))
                         for _, items in sorted(tag_postings(articles).items())]
        self.times = np.array([a.published.timestamp() for a in articles], dtype=np.float64)

    def blocks(self) -> list[tuple[int, int]]:
        return related_blocks(self.total, self.rules)

    def fill(self, low: int, high: int, result: list[tuple[int, ...]]) -> None:
        """Put the related lists of articles [low, high) into `result`."""
        reach = max(1, self.rules.per_tag // 2)
        source, target, weight = _candidate_pairs(self.postings, reach, low, high)
        if source.size:
            _pick_best(source, target, weight, self.times, self.rules, self.total, result)


def _pick_best(source: np.ndarray, target: np.ndarray, weight: np.ndarray, times: np.ndarray,
               rules: RelatedRules, total: int, result: list[tuple[int, ...]]) -> None:
    """Sum each pair's weights, score it, and put each source's best in `result`."""
    import numpy as np

    keys = source * total + target
    # Any order of a pair's terms gives the same (integer) sum: no stable sort.
    order = np.argsort(keys)
    keys, weight = keys[order], weight[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sums = np.add.reduceat(weight, starts) / WEIGHT_SCALE  # exact integers until here
    pair = keys[starts]
    src, dst = pair // total, pair % total
    days = np.abs(times[src] - times[dst]) / 86400.0
    score = sums / (1.0 + days / rules.decay_days)
    # Best first within each article; equal scores: the earlier article first.
    # The pairs are ordered by (src, dst) already, so two stable sorts (score,
    # then article) give the order of lexsort((dst, -score, src)) in half the time.
    by_score = np.argsort(-score, kind="stable")
    # A block's sources span fewer than BLOCK values: as int16, NumPy's
    # stable sort is a radix sort, in linear time.
    ranked = by_score[np.argsort((src[by_score] - src[0]).astype(np.int16), kind="stable")]
    src, dst = src[ranked], dst[ranked]
    first = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
    sizes = np.diff(np.r_[first, src.size])
    # Each source's first `count` pairs, taken in NumPy; Python only slices lists.
    rank = np.arange(src.size) - np.repeat(first, sizes)
    picked = dst[rank < rules.count].tolist()
    ends = np.cumsum(np.minimum(sizes, rules.count)).tolist()
    begin = 0
    for source, end in zip(src[first].tolist(), ends):
        result[source] = tuple(picked[begin:end])
        begin = end


def _candidate_pairs(postings: Sequence[tuple[np.ndarray, int]], reach: int, low: int,
                     high: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(article, candidate, weight) for each article in [low, high) and the
    `reach` articles before and after it in each of its tags' timelines."""
    import numpy as np

    sources, targets, weights = [], [], []
    for posting, value in postings:
        size = posting.size
        first, stop = np.searchsorted(posting, [low, high])
        for offset in range(1, min(reach, size - 1) + 1):
            # The candidate `offset` places later, then `offset` places earlier.
            end = min(stop, size - offset)
            begin = max(first, offset)
            pieces = [(posting[first:end], posting[first + offset:end + offset]),
                      (posting[begin:stop], posting[begin - offset:stop - offset])]
            for src, dst in pieces:
                if src.size:
                    sources.append(src)
                    targets.append(dst)
                    weights.append(np.full(src.size, value, dtype=np.int64))
    if not sources:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(sources), np.concatenate(targets), np.concatenate(weights)


# Weights are summed as integers in units of 1/WEIGHT_SCALE (the least common
# multiple of 1..24, so every 1/(1+k) is a whole number of units): a sum is
# then exact whatever order its terms come in, and a list recomputed for one
# article (generator/linkstate.py) equals the one the full computation gives.
WEIGHT_SCALE = 5354228880
_MAX_LEVEL = 23  # tags on more than 2**23 articles all weigh 1/24


def rarity(df: int) -> float:
    """Weight of a tag found on `df` articles (see the module docstring)."""
    return weight_units(df) / WEIGHT_SCALE


def weight_units(df: int) -> int:
    """rarity(df) × WEIGHT_SCALE, an exact integer."""
    return WEIGHT_SCALE // (1 + min(max(df, 1).bit_length() - 1, _MAX_LEVEL))


_NOT_HAN_OR_WORD = re.compile(r"[^\w\u3400-\u9fff]+")


def title_bigrams(title: str) -> frozenset[str]:
    text = _NOT_HAN_OR_WORD.sub("", title.lower())
    return frozenset(text[i: i + 2] for i in range(len(text) - 1))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def same_event_score(title_a: frozenset[str], tags_a: frozenset[str], title_b: frozenset[str],
                     tags_b: frozenset[str]) -> float:
    return 0.5 * dice(title_a, title_b) + 0.5 * jaccard(tags_a, tags_b)


def tag_counts(articles: Sequence[Article]) -> Counter[str]:
    return Counter(tag for a in articles for tag in a.tags)


def common_limit(total: int, rules: SameEventRules) -> float:
    """Tags on more articles than this are too common to tie two reports together."""
    return max(rules.common_tag_min, rules.common_tag_share * total)


EventFeatures = tuple[frozenset[str], frozenset[str]]  # title bigrams, specific tags


def event_features(article: Article, common: frozenset[str] | set[str]) -> EventFeatures:
    return title_bigrams(article.title), frozenset(t for t in article.tags if t not in common)


def same_event_links(articles: Sequence[Article], rules: SameEventRules) -> list[tuple[int, ...]]:
    """For each article (chronological input), other reports of the same event."""
    counts = tag_counts(articles)
    limit = common_limit(len(articles), rules)
    common = {t for t, n in counts.items() if n > limit}
    features = [event_features(a, common) for a in articles]
    return same_event_lists(features, [a.published.timestamp() for a in articles], rules)


def same_event_lists(features: Sequence[EventFeatures], times: Sequence[float],
                     rules: SameEventRules) -> list[tuple[int, ...]]:
    """Each article's same-event list, by index into `features`, best first.

    `times` are the articles' timestamps in non-decreasing order. Only the
    pairs `_candidates` gives are scored; they include every pair that can
    reach min_score, so the lists equal scoring every pair in the window.
    Shared by the full computation and linkstate's update, which runs it on a
    stretch of the timeline: the two cannot disagree.
    """
    found: list[list[tuple[float, int]]] = [[] for _ in features]
    min_score = rules.min_score
    masks = _tag_masks([tags for _, tags in features])
    for later, earlier in _candidates(features, times, rules):
        title, tags = features[later]
        mask, size = masks[later], len(title)
        for other in earlier:
            # same_event_score(features[other], features[later]) written out:
            # this runs for every candidate pair (3.9 million at 100,000
            # articles), and the tag sets' intersection and union as two
            # sets cost more than all the rest. Their sizes come from the
            # tags' bits instead; the arithmetic is the same, in the same
            # order, so the score is the same float.
            other_title = features[other][0]
            other_mask = masks[other]
            dice = (2 * len(other_title & title) / (len(other_title) + size)
                    if other_title and size else 0.0)
            jaccard = ((other_mask & mask).bit_count() / (other_mask | mask).bit_count()
                       if other_mask and mask else 0.0)
            score = 0.5 * dice + 0.5 * jaccard
            if score >= min_score:
                found[other].append((score, later))
                found[later].append((score, other))
    return [tuple(o for _, o in sorted(pairs, key=lambda s: (-s[0], s[1]))[: rules.max_links])
            for pairs in found]


def _tag_masks(tag_sets: Sequence[frozenset[str]]) -> list[int]:
    """Each set of tags as an int with one bit per tag, so that the sizes of
    two sets' intersection and union are bit counts of their AND and OR."""
    bits: dict[str, int] = {}
    return [sum(bits.setdefault(tag, 1 << len(bits)) for tag in tags) for tags in tag_sets]


# Below this many pairs per article within the window, scoring every pair that
# shares anything costs less than building the indexes (the bench's 10,000
# articles have 14 per 36 h, its 100,000 have 137; they break even near 20).
INDEX_FROM_PAIRS = 20


def _candidates(features: Sequence[EventFeatures], times: Sequence[float],
                rules: SameEventRules) -> Iterator[tuple[int, Iterable[int]]]:
    """Each article with the earlier ones in its window that may be the same
    event: all that can reach min_score are among them, either way."""
    window = rules.max_hours * 3600
    if _window_pairs(times, window) < INDEX_FROM_PAIRS * len(times):
        return _window_candidates(features, times, window)
    return _indexed_candidates(features, times, window, rules.min_score)


def _window_pairs(times: Sequence[float], window: float) -> int:
    """How many pairs of articles are at most `window` seconds apart."""
    total, first = 0, 0
    for later, now in enumerate(times):
        while first < later and not now <= times[first] + window:
            first += 1
        total += later - first
    return total


def _window_candidates(features: Sequence[EventFeatures], times: Sequence[float],
                       window: float) -> Iterator[tuple[int, list[int]]]:
    """Each article with every earlier one in its window that shares a specific
    tag or a title bigram with it (the others score 0 and are never linked)."""
    first = 0
    for later, (title, tags) in enumerate(features):
        now = times[later]
        while first < later and not now <= times[first] + window:
            first += 1
        yield later, [other for other in range(first, later)
                      if not (tags.isdisjoint(features[other][1])
                              and title.isdisjoint(features[other][0]))]


def _indexed_candidates(features: Sequence[EventFeatures], times: Sequence[float],
                        window: float, min_score: float) -> Iterator[tuple[int, set[int]]]:
    """Each article with the earlier ones in its window that share a specific
    tag or an indexed title bigram (`title_prefixes`) with it.

    One pass in time order; each key keeps the articles that had it, oldest
    first, and drops those that fell out of the window when next looked up
    (times never decrease, so they are out for every later article too).
    """
    prefixes = title_prefixes([title for title, _ in features], min_score)
    # Keyed by tag (str) or bigram rank (int): the two kinds cannot collide.
    recent_by_key: dict[str | int, deque[int]] = {}
    for later, (_, tags) in enumerate(features):
        now = times[later]
        earlier: set[int] = set()
        keys: Iterator[str | int] = chain(tags, prefixes[later])
        for key in keys:
            recent = recent_by_key.get(key)
            if recent is None:
                recent_by_key[key] = deque((later,))
                continue
            # The negated window test of the pair scan (a NaN window drops all).
            while recent and not now <= times[recent[0]] + window:
                recent.popleft()
            earlier.update(recent)
            recent.append(later)
        yield later, earlier


# Slack on the title threshold: the Dice coefficient is a rounded quotient, so
# a pair whose exact Dice is a hair under the threshold can still pass it.
_DICE_SLACK = 1e-9


def title_prefixes(titles: Sequence[frozenset[str]], min_score: float) -> list[list[int]]:
    """The bigrams (as rarity ranks) each title is indexed under: two articles
    that share no specific tag and still reach `min_score` share one of them.

    Without a shared tag the score is dice / 2, so the titles need
    dice = 2o / (|a| + |b|) >= t = 2 × min_score. With o <= |b| that gives
    o >= t / (2 - t) × |a| =: k. Order bigrams by rarity (then text); the
    rarest bigram the two share has at least o - 1 shared ones after it in
    each title, so it is among the first |a| - k + 1 of a and likewise of b.
    With min_score <= 0 (or NaN) every bigram is indexed: pairs sharing
    anything are then all candidates, as in the exhaustive scan.
    """
    df = Counter(chain.from_iterable(titles))
    # Rank = position in (count, text) order: sorting ints is quicker than keys.
    rank = {b: n for n, b in enumerate(sorted(df, key=lambda b: (df[b], b)))}
    threshold = 2 * min_score
    if not min_score > 0:  # every pair sharing a bigram passes: index them all
        return [list(map(rank.__getitem__, title)) for title in titles]
    if threshold > 1:  # dice is at most 1: without a shared tag nothing passes
        return [[] for _ in titles]
    low = threshold * (1 - _DICE_SLACK)
    ratio = low / (2 - low)
    # |a| - k + 1 with k = ⌈ratio × |a|⌉ (at least 1), by title length.
    lengths = [size - max(1, math.ceil(ratio * size)) + 1
               for size in range(max(map(len, titles), default=0) + 1)]
    return [sorted(map(rank.__getitem__, title))[: lengths[len(title)]] for title in titles]


def co_occurring_tags(articles: Sequence[Article], limit: int = 8) -> dict[str, tuple[str, ...]]:
    """Tag → the tags that appear with it most often (ties by slug)."""
    tag_sets: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for article in articles:
        for tag in article.tags:
            tag_sets[tag].append(article.tags)
    return co_occurring_for(tag_sets, limit)


def co_occurring_for(tag_sets: dict[str, list[tuple[str, ...]]], limit: int = 8
                     ) -> dict[str, tuple[str, ...]]:
    """Co-occurring tags of each tag given the tag lists of its articles."""
    result: dict[str, tuple[str, ...]] = {}
    for tag, sets in tag_sets.items():
        together = Counter(chain.from_iterable(sets))  # counted in C, one pass per tag
        result[tag] = most_co_occurring(together, tag, limit)
    return result


def most_co_occurring(together: Mapping[str, int], tag: str, limit: int = 8
                      ) -> tuple[str, ...]:
    """The `limit` tags other than `tag` with the highest (positive) counts
    in `together` (ties by slug); shared with linkstate's running counts."""
    counted = [(other, n) for other, n in together.items() if other != tag and n > 0]
    return tuple(t for t, _ in sorted(counted, key=lambda i: (-i[1], i[0]))[:limit])
