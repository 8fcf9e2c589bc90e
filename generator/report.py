"""The build report: what was published, what was not and why, what was written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

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
        link = urls.Urls(config.base_url)
        return {
            "articles": [_article(a, link, config) for a in self.articles],
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
        path.write_text(json.dumps(self.as_dict(config), ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")


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
