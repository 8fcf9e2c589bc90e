"""The data that flows through the pipeline: frozen dataclasses, no behaviour.

Each stage takes some of these and returns new ones; nothing is mutated in
place, so stages can run in worker processes and results can be cached.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field, fields as dataclass_fields
from datetime import datetime
from enum import Enum
from typing import Any, Mapping


class Severity(str, Enum):
    """How bad a problem is: errors keep a file off the site, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file, phrased for the person who fixes it."""

    source_path: str
    severity: Severity
    reason: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_path": self.source_path,
            "severity": self.severity.value,
            "reason": self.reason,
            "line": self.line,
        }


class ReadError(Exception):
    """Raised by a reader or by normalisation when a file cannot be published."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class SourceFile:
    """An input file as found on disk: where it is and its exact bytes."""

    rel_path: str  # POSIX path relative to the content folder
    data: bytes
    digest: str  # sha256 of data, hex


@dataclass(frozen=True)
class RawDoc:
    """What a reader found in a file, before any interpretation.

    Strings are as written in the file (HTML still untrusted); `line_of`
    maps a field name to the 1-based line where it was found, so later
    stages can point the user at the right place.
    """

    rel_path: str
    format: str
    title: str
    body_html: str
    source_url: str | None = None
    front_matter: Mapping[str, Any] = field(default_factory=dict)
    feed_date: str | None = None  # the item's own date line (publication time)
    archived_ms: int | None = None  # the archiver's <!--epoch--> comment
    lead_image: str | None = None
    lead_caption: str | None = None
    line_of: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outlet:
    key: str  # ASCII, used in URLs: voa, aljazeera, rfi, other
    name: str  # display name in Chinese

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # Unpickled articles (from the cache, from parse workers) share one
        # Outlet per outlet instead of holding a copy each.
        return _shared_outlet, (self.key, self.name)


@functools.lru_cache(maxsize=256)
def _shared_outlet(key: str, name: str) -> Outlet:
    return Outlet(key, name)


@dataclass(frozen=True)
class Article:
    """A publishable article's metadata: every field decided.

    The body is not kept here: at archive scale it would dominate memory.
    Parsing hands it over once; the cache stores it; rendering loads it back
    only for the pages that are rendered."""

    uid: str  # stable identity; permalink and dedup derive from it
    slug: str
    rel_path: str
    digest: str  # sha256 of the source file; with the parse settings, the cache key
    format: str
    title: str
    source_url: str | None
    outlet: Outlet
    published: datetime  # aware, UTC
    author: str | None
    lead_image: str | None
    lead_caption: str | None
    summary: str
    reading_minutes: int
    declared_tags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    text_chars: int = 0  # length of the body text; prefers the fuller copy of a duplicate
    # (year, month) of publication in the site's zone, decided when parsing (the
    # zone is a parse setting), so grouping by month needs no time conversion.
    local_month: tuple[int, int] = (0, 0)
    scope_hit: bool = True  # title or body mentions a scope keyword

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Unpickled articles (every cached or worker-parsed one) share what
        # many of them hold equal (see _unpickled_article).
        return _unpickled_article, tuple(getattr(self, name) for name in _ARTICLE_FIELDS)


def _unpickled_article(*values: Any) -> Article:
    """An article from its pickled field values, sharing the tag names, the
    format and the month with other articles instead of holding a copy each
    (≈1 KB of an article's ≈4.5 KB; at 100,000 articles that is ≈100 MB
    less in the build and in each render worker's copy-on-write view of it)."""
    fields = dict(zip(_ARTICLE_FIELDS, values))
    fields["tags"] = tuple(map(sys.intern, fields["tags"]))
    fields["format"] = sys.intern(fields["format"])
    fields["local_month"] = _shared_month(*fields["local_month"])
    if fields["uid"] == fields["source_url"]:
        fields["uid"] = fields["source_url"]
    return Article(**fields)


@functools.lru_cache(maxsize=4096)
def _shared_month(year: int, month: int) -> tuple[int, int]:
    return year, month


_ARTICLE_FIELDS = tuple(f.name for f in dataclass_fields(Article))


@dataclass(frozen=True)
class Page:
    """An authored page such as content/pages/about.md."""

    slug: str
    title: str
    body_html: str
    rel_path: str
