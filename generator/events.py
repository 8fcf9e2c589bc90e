"""Key events (content/events.yaml): milestones shown on the home page's chart
and between the articles of the timeline.

An event is a day in the site's time zone, a short title, a one-sentence note
and optional tag slugs. A bad entry is reported as a warning and left out;
a missing file means no events.
"""

from __future__ import annotations

import functools
import hashlib
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from itertools import islice, repeat
from operator import itemgetter, lt
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, TypeVar
from zoneinfo import ZoneInfo

import yaml

from generator.collect import local_months
from generator.models import Article, Problem, Severity


@dataclass(frozen=True)
class Event:
    day: date
    title: str
    note: str = ""
    tags: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """A stable id for links to the event on its month page."""
        digest = hashlib.sha1(self.title.encode("utf-8")).hexdigest()[:6]
        return f"e-{self.day.isoformat()}-{digest}"


def load_events(path: Path | None, known_tags: Iterable[str] = ()) -> tuple[list[Event],
                                                                          list[Problem]]:
    """Events sorted by day, and the problems found in the file."""
    if path is None or not path.exists():
        return [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem(path.name, Severity.WARNING,
                            f"not valid YAML, no events shown: {exc}")]
    events, problems = _events_from_text(path.name, text, frozenset(known_tags))
    return list(events), list(problems)


@functools.lru_cache(maxsize=1)
def _events_from_text(name: str, text: str, known: frozenset[str]
                      ) -> tuple[tuple[Event, ...], tuple[Problem, ...]]:
    """load_events of a file's text. Kept for the next call with the same
    text: the watch server rebuilds after every change, and parsing the YAML
    again each time cost ≈15 ms of a one-article rebuild."""
    events, problems = _parse_events(name, text, known)
    return tuple(events), tuple(problems)


def _parse_events(name: str, text: str, known: frozenset[str]
                  ) -> tuple[list[Event], list[Problem]]:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return [], [Problem(name, Severity.WARNING, f"not valid YAML, no events shown: {exc}")]
    items = raw.get("events") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        return [], [Problem(name, Severity.WARNING,
                            "expected a mapping with an 'events:' list; no events shown")]
    events: list[Event] = []
    problems: list[Problem] = []
    for number, item in enumerate(items, start=1):
        event, reason = _event(item, known)
        if reason:
            problems.append(Problem(name, Severity.WARNING, f"event {number}: {reason}"))
        if event is not None:
            events.append(event)
    events.sort(key=lambda e: (e.day, e.title))
    return events, problems


def _event(item: Any, known: frozenset[str]) -> tuple[Event | None, str | None]:
    if not isinstance(item, dict):
        return None, "must be a mapping with date, title and note; left out"
    day = item.get("date")
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        return None, f"date {day!r} is not a date (YYYY-MM-DD); left out"
    title = str(item.get("title") or "").strip()
    if not title:
        return None, "has no title; left out"
    tags = item.get("tags") or []
    if not isinstance(tags, list):
        return None, "tags must be a list of tag slugs; left out"
    tags = [str(t) for t in tags]
    unknown = [t for t in tags if known and t not in known]
    event = Event(day, title, str(item.get("note") or "").strip(),
                  tuple(t for t in tags if not known or t in known))
    if unknown:
        return event, f"unknown tag(s) {', '.join(unknown)} ignored"
    return event, None


# -- placing events among articles -----------------------------------------------
T = TypeVar("T")


@dataclass(frozen=True)
class MonthItems:
    """One month of a list: articles and events in date order, as
    ("a", Article) and ("e", Event) pairs."""

    year: int
    month: int
    items: tuple[tuple[str, Any], ...]

    @functools.cached_property
    def article_count(self) -> int:
        """Counted once: a list page's template reads it twice per month."""
        return list(map(itemgetter(0), self.items)).count("a")  # in C: ≈50 items a page


def local_day(article: Article, zone: ZoneInfo) -> date:
    return article.published.astimezone(zone).date()


def split_events(chunks: Sequence[Sequence[Article]], events: Sequence[Event],
                 zone: ZoneInfo) -> list[list[Event]]:
    """Assign each event to the page (chunk) where it falls in time: the page of
    the first article on or after its day; events after every article go to
    the last page. Together the pages show every event exactly once."""
    result: list[list[Event]] = [[] for _ in chunks]
    if not chunks:
        return result
    for event in events:
        target = len(chunks) - 1
        for index in range(len(chunks)):
            last = local_day(chunks[index][-1], zone) if chunks[index] else None
            if last is not None and event.day <= last:
                target = index
                break
        result[target].append(event)
    return result


# id(article) → (the article, its zone, its order key); see _article_order.
_ORDER: dict[int, tuple[Article, ZoneInfo, tuple[date, int, str]]] = {}
ORDER_MEMO_LIMIT = 1 << 14


def _article_order(article: Article, zone: ZoneInfo) -> tuple[date, int, str]:
    """An article's place among a month's items: its local day, after that
    day's events, then its local time as text. Memoised by identity (hashing
    an Article hashes all its fields): an article is on about fifteen list
    pages (month, tags, outlet, timeline), which all sorted it again. The
    memo holds the article, so its id is not reused while it is there."""
    found = _ORDER.get(id(article))
    if found is not None and found[0] is article and found[1] is zone:
        return found[2]
    when = article.published.astimezone(zone)
    order = (when.date(), 1, str(when))
    if len(_ORDER) >= ORDER_MEMO_LIMIT:
        _ORDER.clear()
    _ORDER[id(article)] = (article, zone, order)
    return order


@dataclass(frozen=True)
class ListOrder:
    """The site's chronological articles, known to be in interleave's order,
    with each one's local day. A list taken from them in the same order (a
    month's, a tag's, an outlet's, a page of the timeline: ≈150,000 articles
    over all list pages at 10,000 articles) is then in that order too, and
    interleave places its events and months by looking them up instead of
    sorting it again."""

    zone: ZoneInfo
    articles: tuple[Article, ...]  # keeps them alive: `place` is by id
    place: Mapping[int, int]  # id(article) → its index in `articles`
    days: tuple[date, ...]  # local day, by index: never decreasing

    def places(self, articles: Sequence[Article]) -> list[int] | None:
        """Each article's index in the site's list, when every one is there and
        they come in the same order; else None."""
        try:
            places = list(map(self.place.__getitem__, map(id, articles)))
        except KeyError:
            return None
        return places if all(map(lt, places, islice(places, 1, None))) else None


def list_order(articles: Sequence[Article], zone: ZoneInfo) -> ListOrder | None:
    """The site's chronological articles as a ListOrder; None when
    chronological is not interleave's order (in a zone whose clocks go back,
    a later article can have an earlier local time)."""
    keys = [_article_order(article, zone) for article in articles]
    if any(map(lt, islice(keys, 1, None), keys)):
        return None
    return ListOrder(zone, tuple(articles), {id(a): n for n, a in enumerate(articles)},
                     tuple(key[0] for key in keys))


def interleave(articles: Sequence[Article], events: Sequence[Event],
               zone: ZoneInfo, order: ListOrder | None = None) -> list[MonthItems]:
    """Articles and events grouped by month, each in date order; on one day the
    event comes before the reports. With the site's ListOrder, articles taken
    from it in order are not sorted again."""
    if order is not None and order.zone is zone:
        places = order.places(articles)
        if places is not None:
            return _interleave_in_order(articles, places, events, order)
    keyed: list[tuple[tuple[Any, ...], str, Any]] = []
    for article in articles:
        keyed.append((_article_order(article, zone), "a", article))
    for event in events:
        keyed.append(((event.day, 0, event.title), "e", event))
    keyed.sort(key=itemgetter(0))
    months: list[MonthItems] = []
    current: list[tuple[str, Any]] = []
    ym: tuple[int, int] | None = None
    for key, kind, item in keyed:
        day: date = key[0]
        if (day.year, day.month) != ym:
            if ym is not None:
                months.append(MonthItems(ym[0], ym[1], tuple(current)))
            ym, current = (day.year, day.month), []
        current.append((kind, item))
    if ym is not None:
        months.append(MonthItems(ym[0], ym[1], tuple(current)))
    return months


def _interleave_in_order(articles: Sequence[Article], places: Sequence[int],
                         events: Sequence[Event], order: ListOrder) -> list[MonthItems]:
    """interleave's answer for articles already in its order (`places`: their
    indexes in the site's list): the work is per month and per event, and
    each article is only copied, in C, into its month's items."""
    pieces: list[tuple[tuple[int, int], list[tuple[str, Any]]]] = []  # in list order
    ordered = sorted(events, key=lambda e: (e.day, e.title))
    # An event goes before the first of these articles on or after its day.
    at = [bisect_left(places, bisect_left(order.days, e.day)) for e in ordered]
    done = 0  # events placed
    for month, start, end in _month_runs(places, order.days):
        while done < len(ordered) and at[done] < end:
            pieces.append((month, _pairs(articles[start:at[done]])))
            pieces.append((_month(ordered[done].day), [("e", ordered[done])]))
            start = at[done]
            done += 1
        pieces.append((month, _pairs(articles[start:end])))
    pieces.extend((_month(e.day), [("e", e)]) for e in ordered[done:])
    return _by_month(pieces)


def _month_runs(places: Sequence[int],
                days: Sequence[date]) -> Iterable[tuple[tuple[int, int], int, int]]:
    """(month, start, end) of each month's run of these articles."""
    start = 0
    while start < len(places):
        day = days[places[start]]
        month = _month(day)
        after = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
        end = bisect_left(places, bisect_left(days, after), start)
        yield month, start, end
        start = end


def _pairs(articles: Sequence[Article]) -> list[tuple[str, Any]]:
    return list(zip(repeat("a"), articles))


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _by_month(pieces: Iterable[tuple[tuple[int, int], list[tuple[str, Any]]]]) -> list[MonthItems]:
    """Consecutive pieces of one month joined into its MonthItems."""
    months: list[tuple[tuple[int, int], list[tuple[str, Any]]]] = []
    for month, items in pieces:
        if not items:
            continue
        if months and months[-1][0] == month:
            months[-1][1].extend(items)
        else:
            months.append((month, list(items)))
    return [MonthItems(year, number, tuple(items)) for (year, number), items in months]


def in_month(events: Sequence[Event], year: int, month: int) -> list[Event]:
    return [e for e in events if e.day.year == year and e.day.month == month]


def tagged(events: Sequence[Event], slug: str) -> list[Event]:
    return [e for e in events if slug in e.tags]


def counts_by_month(articles: Sequence[Article], zone: ZoneInfo) -> Mapping[tuple[int, int], int]:
    """Articles per local (year, month), months in order of first appearance
    (each article's month as collect.by_month takes it)."""
    return dict(Counter(local_months(articles, zone)))
