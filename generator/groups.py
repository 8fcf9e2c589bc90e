"""Chronological articles grouped by month, tag and outlet, for the site model.

A long-running process (the watch server) groups nearly the same articles
again on every rebuild: all but the changed ones are the very objects the
last build had (cache._DecodedOutcomes). So the last grouping is kept, and
the next one starts from it: the groups of the tags and outlets that no
changed article is in are taken as they are (the same tuples, which the
render stage's memo then compares at once), the others are patched. The
result equals grouping from scratch (tests/test_groups.py), which is what a
fresh process, or a large change, does.
"""

from __future__ import annotations

from bisect import insort
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain, compress, count, filterfalse, repeat
from operator import is_, is_not
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

from zoneinfo import ZoneInfo

from generator.collect import Month, by_month
from generator.models import Article, Outlet

# Above this share of changed articles, grouping from scratch is quicker.
MAX_PATCH_SHARE = 0.05

T = TypeVar("T")
K = TypeVar("K", str, tuple[int, int])  # a group's key: a tag, an outlet, a month


@dataclass(frozen=True)
class ArticleGroups:
    """The groupings of one chronological list. Treat as read-only: the next
    grouping in this process reuses these tuples and dicts' values."""

    articles: tuple[Article, ...]
    zone: ZoneInfo
    months: tuple[Month, ...]
    tag_articles: dict[str, tuple[Article, ...]]  # sorted by tag, chronological per tag
    outlet_articles: dict[str, tuple[Article, ...]]  # sorted by outlet key
    outlets: dict[str, Outlet]  # each outlet as its latest article gives it


class _LastGroups:
    """The last grouping made in this process (None in a fresh one)."""

    def __init__(self) -> None:
        self.groups: ArticleGroups | None = None

    def forget(self) -> None:
        self.groups = None


LAST = _LastGroups()


def group_articles(articles: Sequence[Article], zone: ZoneInfo) -> ArticleGroups:
    """`articles` (chronological) grouped; patched from the last grouping
    when few articles differ from it."""
    last = LAST.groups
    found = _patched(last, articles, zone) if last is not None and last.zone == zone else None
    if found is None:
        found = _grouped(articles, zone)
    LAST.groups = found
    return found


def _grouped(articles: Sequence[Article], zone: ZoneInfo) -> ArticleGroups:
    tag_lists: dict[str, list[Article]] = defaultdict(list)
    outlet_lists: dict[str, list[Article]] = defaultdict(list)
    outlet_by_key: dict[str, Outlet] = {}
    for article in articles:
        for slug in article.tags:
            tag_lists[slug].append(article)
        outlet_lists[article.outlet.key].append(article)
        outlet_by_key[article.outlet.key] = article.outlet
    return ArticleGroups(tuple(articles), zone, tuple(by_month(articles, zone)),
                         {k: tuple(v) for k, v in sorted(tag_lists.items())},
                         {k: tuple(v) for k, v in sorted(outlet_lists.items())},
                         dict(sorted(outlet_by_key.items())))


def _patched(last: ArticleGroups, articles: Sequence[Article], zone: ZoneInfo
             ) -> ArticleGroups | None:
    """The grouping of `articles` from `last`'s; None when too many differ,
    or when the articles both have are no longer in the same order."""
    change = _changed(last.articles, articles)
    if change is None:
        return None
    if not change.gone and not change.added:
        return last
    months = _patched_months(last.months, change, articles, zone)
    if months is None:
        return None
    tag_articles = _patch(last.tag_articles, change, lambda a: a.tags)
    outlet_articles = _patch(last.outlet_articles, change, lambda a: (a.outlet.key,))
    return ArticleGroups(tuple(articles), zone, months, tag_articles, outlet_articles,
                         {key: items[-1].outlet for key, items in outlet_articles.items()})


def common_ends(before: Sequence[T], now: Sequence[T]) -> tuple[int, int]:
    """How many items at the start, and then at the end, both lists share
    (the same objects, compared in C: the lists are 10,000 long and differ
    in a few places)."""
    shortest = min(len(before), len(now))
    start = next(compress(count(), map(is_not, before, now)), shortest)
    end = next(compress(count(), map(is_not, reversed(before), reversed(now))), shortest)
    return start, min(end, shortest - start)


def _changed(before: Sequence[Article], now: Sequence[Article]) -> _Change | None:
    """The articles that left and joined; None if too many did, if an article
    is listed twice, or if the others are no longer in the same order."""
    start, end = common_ends(before, now)
    old, new = before[start: len(before) - end], now[start: len(now) - end]
    old_ids, new_ids = set(map(id, old)), set(map(id, new))
    gone_ids, added_ids = old_ids - new_ids, new_ids - old_ids
    if len(gone_ids) + len(added_ids) > MAX_PATCH_SHARE * len(now):
        return None
    if list(filterfalse(gone_ids.__contains__, map(id, old))) \
            != list(filterfalse(added_ids.__contains__, map(id, new))):
        return None
    position = dict(zip(map(id, now), count())) if gone_ids or added_ids else {}
    if position and len(position) != len(now):
        return None
    return _Change([a for a in old if id(a) in gone_ids], [a for a in new if id(a) in added_ids],
                   position)


@dataclass(frozen=True)
class _Change:
    gone: list[Article]  # chronological, as the last grouping had them
    added: list[Article]  # chronological
    position: dict[int, int]  # id(article) → index in this list


def _patch(groups: Mapping[K, tuple[Article, ...]], change: _Change,
           keys_of: Callable[[Article], Iterable[K]]) -> dict[K, tuple[Article, ...]]:
    """`groups` without the gone articles and with the added ones, each group
    in chronological order, sorted by key (when keys come or go). The groups
    no article left or joined are the same tuples as before."""
    leaving: dict[K, list[Article]] = defaultdict(list)
    joining: dict[K, list[Article]] = defaultdict(list)
    for article in change.gone:
        for key in keys_of(article):
            leaving[key].append(article)
    for article in change.added:
        for key in keys_of(article):
            joining[key].append(article)
    patched = dict(groups)
    for key in leaving.keys() | joining.keys():
        items = list(groups.get(key, ()))
        for article in leaving.get(key, ()):
            del items[next(compress(count(), map(is_, items, repeat(article))))]
        # Now every item has a place in this list.
        for article in joining.get(key, ()):
            insort(items, article, key=lambda a: change.position[id(a)])
        if items:
            patched[key] = tuple(items)
        else:
            del patched[key]
    if patched.keys() != groups.keys():
        patched = dict(sorted(patched.items()))
    return patched


def _patched_months(months: Sequence[Month], change: _Change, articles: Sequence[Article],
                    zone: ZoneInfo) -> tuple[Month, ...] | None:
    """The months of `articles` from the last ones; None unless they are what
    by_month gives: ascending, one group per month, together the whole list
    in order (by_month groups runs of one month: these are those runs)."""
    by_key = {(m.year, m.month): m for m in months}
    if len(by_key) != len(months):
        return None
    patched = _patch({key: m.articles for key, m in by_key.items()}, change,
                     lambda a: (_month_of(a, zone),))
    keys = list(patched)
    if keys != sorted(keys) or sum(map(len, patched.values())) != len(articles) \
            or not all(map(is_, chain.from_iterable(patched.values()), articles)):
        return None
    return tuple(by_key[key] if key in by_key and by_key[key].articles is items
                 else Month(key[0], key[1], items) for key, items in patched.items())


def _month_of(article: Article, zone: ZoneInfo) -> tuple[int, int]:
    """The article's month, by by_month itself (so that the two cannot differ)."""
    month = by_month((article,), zone)[0]
    return month.year, month.month
