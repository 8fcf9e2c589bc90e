"""Authored Markdown with a YAML front matter (about pages, hand-written notes).

Front matter keys: title (required), date, author, tags, source_url/link,
outlet. The body is CommonMark; raw HTML in it still goes through the
sanitizer like every other body.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from generator.models import RawDoc, ReadError
from generator.readers.common import text_field
from generator.readers.source import Source

FORMAT = "markdown"

_MD = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
# markdown-it-py takes up to ~8 s per MB on markup-dense text. Hand-written
# pages are a few thousand characters; scraped articles arrive as HTML.
MAX_MARKDOWN_CHARS = 200_000


def matches(source: Source) -> bool:
    return source.front_matter is not None


def read(source: Source) -> RawDoc:
    fm = source.front_matter
    if fm is None:
        raise ReadError("no front matter", 1)
    data = fm.data
    if len(fm.body) > MAX_MARKDOWN_CHARS:
        raise ReadError(f"the Markdown body is {len(fm.body):,} characters long, more than "
                        f"{MAX_MARKDOWN_CHARS:,}: this is not a hand-written page; split it, "
                        "or give the article as HTML", fm.body_line)
    return RawDoc(
        rel_path=source.rel_path,
        format=FORMAT,
        title=text_field(data, "title") or "",
        body_html=render_markdown(fm.body),
        source_url=text_field(data, "source_url") or text_field(data, "link")
        or text_field(data, "from"),
        front_matter=data,
        lead_image=text_field(data, "image"),
        lead_caption=text_field(data, "image_caption"),
        line_of={**fm.field_lines, "body": fm.body_line},
    )


def render_markdown(text: str) -> str:
    """CommonMark (with tables) to HTML; the caller sanitizes the result."""
    return _MD.render(text)
