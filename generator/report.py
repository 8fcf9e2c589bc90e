"""The build report: what was published, what was not and why, what was written."""

from __future__ import annotations

import json
import pickle
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

    def stored(self, config: Config) -> BuildReport:
        """This report in the form kept for the nothing-changed fast path (and
        returned by the build, so its JSON is made once)."""
        articles = tuple(self.articles)
        rows = rows_json(article_rows(articles, config))
        blob = pickle.dumps(articles, protocol=pickle.HIGHEST_PROTOCOL)
        return replace(self, articles=StoredArticles(len(articles), blob, rows, articles))


class StoredArticles(Sequence[Article]):
    """The published articles of a stored report: their count and report rows
    are at hand; the Article objects are unpickled only if someone asks."""

    def __init__(self, count: int, blob: bytes, rows_json: str,
                 loaded: tuple[Article, ...] | None = None) -> None:
        self.total = count
        self.blob = blob
        self.rows_json = rows_json
        self._loaded = loaded

    def _items(self) -> tuple[Article, ...]:
        if self._loaded is None:
            self._loaded = pickle.loads(self.blob)
        return self._loaded

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: Any) -> Any:
        return self._items()[index]

    def __iter__(self) -> Iterator[Article]:
        return iter(self._items())

    def __getstate__(self) -> dict[str, Any]:
        return {"total": self.total, "blob": self.blob, "rows_json": self.rows_json,
                "_loaded": None}


def article_rows(articles: Sequence[Article], config: Config) -> list[dict[str, Any]]:
    link = urls.Urls(config.base_url)
    return [_article(a, link, config) for a in articles]


def rows_json(rows: Sequence[dict[str, Any]]) -> str:
    """One article per line: readable, easy to grep and diff, and written by
    json's C encoder (indent= would take the pure-Python one, ≈1 s at 10,000)."""
    if not rows:
        return "[]"
    lines = ",\n    ".join(json.dumps(row, ensure_ascii=False) for row in rows)
    return "[\n    " + lines + "\n  ]"


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
