"""From a bag of articles to the site's structure: scope, duplicates, order,
months, years, neighbours. Pure functions; nothing here touches the disk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, compress, count, islice
from operator import attrgetter, ne
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from generator.config import Scope
from generator.models import Article


@dataclass(frozen=True)
class OutOfScope:
    source_path: str
    reason: str


@dataclass(frozen=True)
class Duplicate:
    source_path: str  # the file that was not published
    duplicate_of: str  # the file whose article was kept
    permalink_slug: str
    reason: str


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    articles: tuple[Article, ...]


def local(dt: datetime, zone: ZoneInfo) -> datetime:
    return dt.astimezone(zone)


def in_scope(article: Article, scope: Scope, zone: ZoneInfo) -> str | None:
    """None when the article belongs on the site, else why not."""
    day = local(article.published, zone).date()
    if not scope.start <= day <= scope.end:
        return (f"published {day.isoformat()}, outside the site's scope "
                f"{scope.start.isoformat()}–{scope.end.isoformat()}")
    if not article.scope_hit:
        return "mentions none of the scope keywords (Russia, Ukraine, …)"
    return None


def split_scope(articles: Iterable[Article], scope: Scope,
                zone: ZoneInfo) -> tuple[list[Article], list[OutOfScope]]:
    kept: list[Article] = []
    dropped: list[OutOfScope] = []
    for article in articles:
        reason = in_scope(article, scope, zone) if scope.enabled else None
        if reason is None:
            kept.append(article)
        else:
            dropped.append(OutOfScope(article.rel_path, reason))
    return kept, dropped


def _title_key(title: str) -> str:
    return re.sub(r"[\s\W_]+", "", title).lower()


def _preference(article: Article) -> tuple[int, int, int, str]:
    """Lower sorts first: the copy to keep has an original URL, a date line
    (no warnings), the longest text; the file path breaks ties reproducibly."""
    return (0 if article.source_url else 1, len(article.warnings), -article.text_chars,
            article.rel_path)


def deduplicate(articles: Sequence[Article], zone: ZoneInfo) -> tuple[list[Article],
                                                                      list[Duplicate]]:
    """One article per identity: same original URL, or same outlet + title + day."""
    kept: dict[str, Article] = {}
    by_alias: dict[Alias, str] = {}
    duplicates: list[Duplicate] = []
    aliases = _Aliases(zone)
    for article in sorted(articles, key=_preference):
        alias = aliases.of(article)
        winner_uid = article.uid if article.uid in kept else by_alias.get(alias)
        if winner_uid is not None:
            winner = kept[winner_uid]
            why = ("same original URL" if winner.uid == article.uid
                   else "same outlet, title and day")
            duplicates.append(Duplicate(article.rel_path, winner.rel_path, winner.slug, why))
            continue
        kept[article.uid] = article
        by_alias[alias] = article.uid
    duplicates.sort(key=lambda d: d.source_path)
    aliases.keep()
    return list(kept.values()), duplicates


Alias = tuple[str, str, str]


class _Aliases:
    """Each article's (outlet, title key, local day), remembered for the next
    deduplication in this process: the watch server's rebuilds see the same
    Article objects again (see cache._DecodedOutcomes), and the title key's
    regex and the time conversion are most of deduplicate's ≈0.1 s at
    10,000 articles. Only the last call's articles are kept."""

    _last: dict[int, tuple[Article, ZoneInfo, Alias]] = {}

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.seen: dict[int, tuple[Article, ZoneInfo, Alias]] = {}

    def of(self, article: Article) -> Alias:
        found = self._last.get(id(article))
        # The article itself is kept in the entry, so its id is not reused while it is there.
        if found is not None and found[0] is article and found[1] == self.zone:
            alias = found[2]
        else:
            alias = (article.outlet.key, _title_key(article.title),
                     local(article.published, self.zone).date().isoformat())
        self.seen[id(article)] = (article, self.zone, alias)
        return alias

    def keep(self) -> None:
        _Aliases._last = self.seen


def chronological(articles: Iterable[Article]) -> list[Article]:
    """Oldest first; ties broken by identity so the order never depends on input order."""
    return sorted(articles, key=lambda a: (a.published, a.uid))


def resolve_slug_collisions(articles: Sequence[Article]) -> list[Article]:
    """Two identities with one slug (a hash prefix collision) get distinct slugs."""
    from dataclasses import replace
    seen: dict[str, int] = {}
    out = []
    for article in articles:
        count = seen.get(article.slug, 0)
        seen[article.slug] = count + 1
        out.append(article if count == 0 else replace(article, slug=f"{article.slug}-{count + 1}"))
    return out


def by_month(articles: Sequence[Article], zone: ZoneInfo) -> list[Month]:
    """Chronological articles grouped into calendar months of the site's zone."""
    return runs_by_month(articles, local_months(articles, zone))


def local_months(articles: Sequence[Article], zone: ZoneInfo) -> list[tuple[int, int]]:
    """Each article's (year, month) in the site's zone: decided when it was
    parsed, read here in C (an incremental build groups the lists of every
    tag the changed article has, ≈80,000 articles)."""
    months = list(map(_LOCAL_MONTH, articles))
    if _UNDECIDED in months:
        months = [_local_month(a, zone) if m == _UNDECIDED else m
                  for m, a in zip(months, articles)]
    return months


def runs_by_month(articles: Sequence[Article], months: Sequence[tuple[int, int]]
                  ) -> list[Month]:
    """Each run of consecutive articles of one month (`months[i]` is the
    month of `articles[i]`), found in C."""
    if not articles:
        return []
    starts = [0, *compress(count(1), map(ne, islice(months, 1, None), months))]
    ends = starts[1:] + [len(articles)]
    return [Month(*months[start], tuple(articles[start:end]))
            for start, end in zip(starts, ends)]


_LOCAL_MONTH = attrgetter("local_month")
_UNDECIDED = (0, 0)  # an Article's local_month when it was not decided


def _local_month(article: Article, zone: ZoneInfo) -> tuple[int, int]:
    when = local(article.published, zone)
    return when.year, when.month


def pages(items: Sequence[Article], size: int) -> list[tuple[Article, ...]]:
    """Split a list into pages of `size`; an empty list still has one (empty) page."""
    if not items:
        return [()]
    return [tuple(items[i: i + size]) for i in range(0, len(items), size)]


@dataclass(frozen=True)
class PagePart:
    """One page of a chronological list: a calendar month, or a part of one."""

    key: str  # "2022-10", "2022-10-2" (second part), or "2" within a one-month list
    label: str  # shown to readers: "2022年10月", "2022年10月（2）"
    articles: tuple[Article, ...]


def month_parts(items: Sequence[Article], size: int, zone: ZoneInfo) -> list[PagePart]:
    """Split a chronological list into pages made of whole calendar months.

    Consecutive small months share a page up to `size` articles; a month with
    more than `size` articles is split into parts of `size`. Page boundaries
    sit on month boundaries, so adding an article changes the pages of its
    own month (and, only when a page's total crosses `size`, the packing of
    the small months after it), where fixed-size pages would shift every
    later page."""
    return pack_months(by_month(items, zone), size)


def pack_months(months: Sequence[Month], size: int) -> list[PagePart]:
    """month_parts' pages, from the list's months (see by_month)."""
    if not months:
        return [PagePart("", "", ())]
    single = len(months) == 1
    parts: list[PagePart] = []
    group: list[Month] = []

    def flush() -> None:
        if group:
            parts.append(PagePart(_month_key(group[0]), _span_label(group),
                                  tuple(chain.from_iterable(m.articles for m in group))))
            group.clear()

    for month in months:
        if len(month.articles) > size:
            flush()
            for number, chunk in enumerate(pages(month.articles, size), start=1):
                name = f"{month.year}年{month.month}月"
                label = name if number == 1 else f"{name}（{number}）"
                key = str(number) if single else _month_key(month) + (
                    f"-{number}" if number > 1 else "")
                parts.append(PagePart(key, label, chunk))
            continue
        if group and sum(len(m.articles) for m in group) + len(month.articles) > size:
            flush()
        group.append(month)
    flush()
    return parts


def _month_key(month: Month) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _span_label(group: Sequence[Month]) -> str:
    first, last = group[0], group[-1]
    if first is last:
        return f"{first.year}年{first.month}月"
    if first.year == last.year:
        return f"{first.year}年{first.month}月–{last.month}月"
    return f"{first.year}年{first.month}月–{last.year}年{last.month}月"
