"""Links between articles: related articles, same-event reports, co-occurring tags.

Nothing here compares every pair of articles. Related articles come from an
inverted index (tag → articles in time order) scanned only near each
article's date; same-event pairs come from a sliding time window over the
chronological list. Both stay near-linear at 100,000 articles.

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
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import chain
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

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
BLOCK = 4096


def related_articles(articles: Sequence[Article], rules: RelatedRules) -> list[tuple[int, ...]]:
    """For each article (chronological input), up to `count` indices of related ones.

    Vectorised with NumPy, one block of articles at a time: every (article,
    candidate, weight) triple from the tag postings goes into flat arrays,
    weights of one pair are summed with a single sort, and each article's best
    candidates are picked with another.
    """
    import numpy as np  # imported here: a no-change rebuild never needs it

    total = len(articles)
    result: list[tuple[int, ...]] = [() for _ in articles]
    if total < 2 or rules.count == 0:
        return result
    postings = [(np.asarray(items, dtype=np.int64), weight_units(len(items)))
                for _, items in sorted(tag_postings(articles).items())]
    times = np.array([a.published.timestamp() for a in articles], dtype=np.float64)
    reach = max(1, rules.per_tag // 2)
    for low in range(0, total, BLOCK):
        source, target, weight = _candidate_pairs(postings, reach, low, min(total, low + BLOCK))
        if source.size:
            _pick_best(source, target, weight, times, rules, total, result)
    return result


def _pick_best(source: np.ndarray, target: np.ndarray, weight: np.ndarray, times: np.ndarray,
               rules: RelatedRules, total: int, result: list[tuple[int, ...]]) -> None:
    """Sum each pair's weights, score it, and put each source's best in `result`."""
    import numpy as np

    keys = source * total + target
    order = np.argsort(keys, kind="stable")
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
    ranked = by_score[np.argsort(src[by_score], kind="stable")]
    src, dst = src[ranked], dst[ranked]
    first = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
    bounds = np.r_[first, src.size]
    for begin, end in zip(bounds[:-1], bounds[1:]):
        result[int(src[begin])] = tuple(int(d) for d in dst[begin: min(end, begin + rules.count)])


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


def event_score(a: EventFeatures, b: EventFeatures) -> float | None:
    """The same-event score of two articles; None when they share nothing
    (most pairs in the window), without building any set."""
    if a[1].isdisjoint(b[1]) and a[0].isdisjoint(b[0]):
        return None
    return same_event_score(a[0], a[1], b[0], b[1])


def same_event_links(articles: Sequence[Article], rules: SameEventRules) -> list[tuple[int, ...]]:
    """For each article (chronological input), other reports of the same event."""
    counts = tag_counts(articles)
    limit = common_limit(len(articles), rules)
    common = {t for t, n in counts.items() if n > limit}
    features = [event_features(a, common) for a in articles]
    times = [a.published.timestamp() for a in articles]
    window = rules.max_hours * 3600
    links: list[list[tuple[float, int]]] = [[] for _ in articles]
    for i in range(len(articles)):
        (title, tags), end = features[i], times[i] + window
        j = i + 1
        while j < len(articles) and times[j] <= end:
            # event_score, inlined: this loop sees every pair in the window.
            other_title, other_tags = features[j]
            if not (tags.isdisjoint(other_tags) and title.isdisjoint(other_title)):
                score = same_event_score(title, tags, other_title, other_tags)
                if score >= rules.min_score:
                    links[i].append((score, j))
                    links[j].append((score, i))
            j += 1
    return [tuple(o for _, o in sorted(found, key=lambda s: (-s[0], s[1]))[: rules.max_links])
            for found in links]


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
        del together[tag]
        result[tag] = tuple(t for t, _ in sorted(together.items(),
                                                  key=lambda i: (-i[1], i[0]))[:limit])
    return result
