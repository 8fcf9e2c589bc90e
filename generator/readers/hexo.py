"""Hexo front matter + HTML body, as archivers write Al Jazeera Chinese items.

    (blank line)
    ---
    title: '...'
    categories: [新媒体, Aljazeera 半岛网, 新闻]   source categories, not topics
    headimg: '...'         lead image (also repeated as the body's first image)
    author: Aljazeera 半岛网
    comments: false
    date: Sat, 22 Jan 2022 12:16:05 GMT        the item's pubDate
    thumbnail: '...'        same as headimg
    ---
    <div> <p>...</p> </div>
"""

from __future__ import annotations

from generator.models import RawDoc, ReadError
from generator.readers.common import text_field
from generator.readers.source import Source

FORMAT = "hexo"


def matches(source: Source) -> bool:
    fm = source.front_matter
    return fm is not None and fm.body.lstrip().startswith("<")


def read(source: Source) -> RawDoc:
    fm = source.front_matter
    if fm is None:  # matches() guarantees it; keeps type checkers honest
        raise ReadError("no front matter", 1)
    data = fm.data
    image = text_field(data, "headimg") or text_field(data, "thumbnail")
    return RawDoc(
        rel_path=source.rel_path,
        format=FORMAT,
        title=text_field(data, "title") or "",
        body_html=fm.body.strip(),
        source_url=text_field(data, "link") or text_field(data, "from")
        or text_field(data, "source_url"),
        front_matter=data,
        feed_date=None,
        archived_ms=None,
        lead_image=image,
        lead_caption=None,
        line_of={**fm.field_lines, "body": fm.body_line},
    )
