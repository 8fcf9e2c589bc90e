"""The reader registry: one module per input format, chosen by content.

Adding a format is one new module with `matches()` and `read()`, and one
line in READERS. Detection never looks at the file extension: archivers
name files `.txt`, `.md` or nothing at all.
"""

from __future__ import annotations

from typing import Protocol

from generator.models import ReadError, RawDoc, SourceFile
from generator.readers import feed_markdown, hexo, markdown_page
from generator.readers.common import split_front_matter
from generator.readers.source import Source
from generator.textdecode import decode


class Reader(Protocol):
    FORMAT: str

    def matches(self, source: Source) -> bool: ...

    def read(self, source: Source) -> RawDoc: ...


# Order matters: the first reader whose matches() is true reads the file.
READERS: tuple[Reader, ...] = (feed_markdown, hexo, markdown_page)  # type: ignore[assignment]


def read_source(file: SourceFile) -> RawDoc:
    """Decode a file and read it with the reader that recognises its content."""
    decoded = decode(file.data)
    if not decoded.text.strip():
        raise ReadError("file is empty: nothing to publish; delete it or re-scrape it")
    source = Source(file.rel_path, decoded.text, split_front_matter(decoded.text))
    for reader in READERS:
        if reader.matches(source):
            doc = reader.read(source)
            if decoded.encoding not in ("utf-8", "utf-8-sig"):
                note = (f"file is encoded as {decoded.encoding}, not UTF-8; it was read, "
                        "but re-save it as UTF-8")
                doc = _with_warning(doc, note)
            return doc
    raise ReadError("format not recognised: expected feed markdown ('<!--epoch-->' then "
                    "'[title](url)' underlined with '---'), or a '---' YAML front matter "
                    "block with a title", 1)


def _with_warning(doc: RawDoc, note: str) -> RawDoc:
    from dataclasses import replace
    return replace(doc, warnings=doc.warnings + (note,))
