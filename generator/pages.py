"""Authored pages (content/pages/*.md): about, method notes."""

from __future__ import annotations

import re
from pathlib import Path

from generator.models import Page, Problem, ReadError, Severity
from generator.readers import markdown_page
from generator.readers.common import split_front_matter, text_field
from generator.readers.source import Source
from generator.sanitize import sanitize_body
from generator.textdecode import decode

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
RESERVED = {"articles", "tags", "outlets", "archive", "static", "page", "search", "pagefind"}


def read_pages(folder: Path | None) -> tuple[list[Page], list[Problem]]:
    """Every Markdown page in `folder`; a bad one is reported, the rest are kept."""
    if folder is None or not folder.is_dir():
        return [], []
    found, problems = [], []
    for path in sorted(folder.glob("*.md")):
        try:
            found.append(read_page(path))
        except ReadError as exc:
            problems.append(Problem(f"pages/{path.name}", Severity.ERROR, exc.reason, exc.line))
    return found, problems


def read_page(path: Path) -> Page:
    text = decode(path.read_bytes()).text
    source = Source(path.name, text, split_front_matter(text))
    if source.front_matter is None:
        raise ReadError("a page needs a front matter block with 'title:'", 1)
    raw = markdown_page.read(source)
    slug = text_field(source.front_matter.data, "slug") or path.stem
    if not _SLUG.match(slug) or slug in RESERVED or slug.isdigit():
        raise ReadError(f"page slug {slug!r} must be lower-case ASCII letters, digits and "
                        "hyphens, and not a reserved section name",
                        source.front_matter.field_lines.get("slug", 1))
    if not raw.title.strip():
        raise ReadError("missing 'title:'", 1)
    return Page(slug, raw.title.strip(), sanitize_body(raw.body_html), f"pages/{path.name}")
