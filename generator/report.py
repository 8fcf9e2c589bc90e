"""The build report: what was published, what was not and why, what was written."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from generator import urls
from generator.collect import Duplicate, OutOfScope
from generator.config import Config
from generator.models import Article, Problem, Severity
from generator.write import WriteResult


@dataclass(frozen=True)
class BuildReport:
    articles: Sequence[Article]
    problems: Sequence[Problem]
    out_of_scope: Sequence[OutOfScope]
    duplicates: Sequence[Duplicate]
    written: WriteResult
    files_seen: int
    content: Path
    output: Path
    parsed: int = 0  # files read and parsed in this build
    cached: int = 0  # files whose parse came from the cache
    rendered: int = 0  # pages rendered (the rest were unchanged and skipped)
    cache_note: str | None = None  # why the cache was thrown away, if it was
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def as_dict(self, config: Config) -> dict[str, Any]:
        return {"articles": article_rows(self.articles, config), **self._rest(config)}

    def _rest(self, config: Config) -> dict[str, Any]:
        link = urls.Urls(config.base_url)
        return {
            "problems": [p.as_dict() for p in self.problems],
            "out_of_scope": [{"source_path": o.source_path, "reason": o.reason}
                             for o in self.out_of_scope],
            "duplicates": [{"source_path": d.source_path, "duplicate_of": d.duplicate_of,
                            "permalink": link.path(urls.article(d.permalink_slug)),
                            "reason": d.reason} for d in self.duplicates],
            "counts": {
                "files": self.files_seen,
                "parsed": self.parsed,
                "cached": self.cached,
                "rendered": self.rendered,
                "articles": len(self.articles),
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "out_of_scope": len(self.out_of_scope),
                "duplicates": len(self.duplicates),
                "written": len(self.written.written),
                "unchanged": len(self.written.unchanged),
                "deleted": len(self.written.deleted),
            },
            "timings": dict(self.timings),
            "written": list(self.written.written),
            "deleted": list(self.written.deleted),
        }

    def write_json(self, path: Path, config: Config) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.json_text(config), encoding="utf-8")

    def json_text(self, config: Config) -> str:
        """The report as indented JSON. The article list (the bulk of it) is
        taken ready-made from a stored report, so a build that changed nothing
        writes its report without loading 10,000 articles."""
        if isinstance(self.articles, StoredArticles):
            rows = self.articles.rows_json
        else:
            rows = rows_json(article_rows(self.articles, config))
        rest = json.dumps(self._rest(config), ensure_ascii=False, indent=2)
        return '{\n  "articles": ' + rows + ",\n" + rest[2:] + "\n"

    def stored(self, config: Config, parse_key: str = "",
               previous: BuildReport | None = None) -> BuildReport:
        """This report in the form kept for the nothing-changed fast path (and
        returned by the build, so its JSON is made once).

        `parse_key` names the settings the articles were parsed under
        (ParseSettings.key); `previous` is the last build's stored report,
        whose report rows and encoded articles are reused for the articles
        that did not change (making them all again cost ≈0.35 s of every
        incremental build at 10,000 articles)."""
        from generator import codec

        articles = tuple(self.articles)
        context = _row_context(config, parse_key)
        keys = [_row_key(a) for a in articles]
        known = previous.articles.parts(context) \
            if previous is not None and isinstance(previous.articles, StoredArticles) else {}
        link = urls.Urls(config.base_url)
        lines: list[str] = []
        records: list[bytes | memoryview] = []
        for key, article in zip(keys, articles):
            part = known.get(key)
            if part is not None:
                lines.append(part[0])
                records.append(part[1])
            else:
                lines.append(_row_line(article, link, config))
                records.append(codec.encode_article(article))
        stored = StoredArticles(articles, lines, records, keys, context)
        return replace(self, articles=stored)


class StoredArticles(Sequence[Article]):
    """The published articles of a stored report: their count and report rows
    are at hand; the Article objects are decoded only if someone asks.

    Each article is kept as its report row (a line of JSON) and its record
    (codec.encode_article) with a key naming what both were made from (see
    _row_key), so the next build makes them only for the articles that changed."""

    def __init__(self, articles: tuple[Article, ...], lines: Sequence[str],
                 records: Sequence[bytes | memoryview], keys: Sequence[str],
                 context: str) -> None:
        self.total = len(articles)
        self.rows_json = _rows_text(lines)
        self.records = b"".join(records)
        self.sizes = [len(record) for record in records]
        self.keys = "\0".join(keys)  # one string pickles faster than 10,000
        self.context = context  # what every row and record depends on besides its key
        self._loaded: tuple[Article, ...] | None = articles

    def _items(self) -> tuple[Article, ...]:
        if self._loaded is None:
            from generator import codec

            self._loaded = tuple(map(codec.decode_article, self._records()))
        return self._loaded

    def _records(self) -> list[memoryview]:
        view = memoryview(self.records)
        ends = list(itertools.accumulate(self.sizes))
        return [view[end - size:end] for end, size in zip(ends, self.sizes)]

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: Any) -> Any:
        return self._items()[index]

    def __iter__(self) -> Iterator[Article]:
        return iter(self._items())

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None, "format": STORED_FORMAT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A report stored by code that kept other fields is no report at all
        # (the cache reads it as missing), rather than one that fails later.
        if state.pop("format", None) != STORED_FORMAT:
            raise ValueError("a stored report of another format")
        self.__dict__.update(state)

    def parts(self, context: str) -> dict[str, tuple[str, memoryview]]:
        """Each article's key → its row and record, if they were made under
        `context` (else nothing is known)."""
        if self.context != context or not self.total:
            return {}
        keys = self.keys.split("\0")
        lines = _rows_lines(self.rows_json)
        records = self._records()
        if not len(keys) == len(lines) == len(records) == self.total:
            return {}
        return dict(zip(keys, zip(lines, records)))


# Bump when a row or a record changes for the same article and settings.
ROWS_VERSION = 1
# Bump when StoredArticles keeps other fields.
STORED_FORMAT = 1


def _row_context(config: Config, parse_key: str) -> str:
    """Everything a report row and an article's record depend on besides the
    article's key: the URL the site is published at, the zone times are
    shown in, and the parse settings (an article's fields are a function of
    its file's bytes and these, which is what makes the parse cache sound)."""
    return repr((ROWS_VERSION, config.base_url, config.timezone, parse_key))


def _row_key(article: Article) -> str:
    """What else an article's row and record depend on: the file's bytes (its
    digest), the slug (which a collision may have changed) and the path the
    file is at (a cached parse is reused for a copy under another name). The
    slug and digest hold no "\x1f", so the path, last, cannot make two keys equal."""
    return f"{article.digest}\x1f{article.slug}\x1f{article.rel_path}"


def _row_line(article: Article, link: urls.Urls, config: Config) -> str:
    return json.dumps(_article(article, link, config), ensure_ascii=False)


def article_rows(articles: Sequence[Article], config: Config) -> list[dict[str, Any]]:
    link = urls.Urls(config.base_url)
    return [_article(a, link, config) for a in articles]


def rows_json(rows: Sequence[dict[str, Any]]) -> str:
    """One article per line: readable, easy to grep and diff, and written by
    json's C encoder (indent= would take the pure-Python one, ≈1 s at 10,000)."""
    return _rows_text([json.dumps(row, ensure_ascii=False) for row in rows])


_ROWS_START, _ROWS_SEP, _ROWS_END = "[\n    ", ",\n    ", "\n  ]"


def _rows_text(lines: Sequence[str]) -> str:
    if not lines:
        return "[]"
    return _ROWS_START + _ROWS_SEP.join(lines) + _ROWS_END


def _rows_lines(text: str) -> list[str]:
    """_rows_text's lines back. A line is compact JSON, which has no raw
    newline (json escapes it in strings), so it never holds the separator."""
    if not (text.startswith(_ROWS_START) and text.endswith(_ROWS_END)):
        return []
    return text[len(_ROWS_START):-len(_ROWS_END)].split(_ROWS_SEP)


def _article(article: Article, link: urls.Urls, config: Config) -> dict[str, Any]:
    site_path = urls.article(article.slug)
    return {
        "source_path": article.rel_path,
        "permalink": link.path(site_path),
        "output_path": urls.output_file(site_path),
        "title": article.title,
        "published": article.published.astimezone(config.zone).isoformat(),
        "source_url": article.source_url,
        "outlet": article.outlet.key,
        "tags": list(article.tags),
    }
