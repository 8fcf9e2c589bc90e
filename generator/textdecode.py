"""Bytes → text, refusing binary files and naming the encoding that was guessed.

Archivers write UTF-8, but files passed through Windows tools arrive with a
BOM, as UTF-16, or in a legacy Chinese code page (GB18030/GBK, Big5).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from generator.models import ReadError

# Legacy encodings worth trying, most common first for Chinese text.
_LEGACY = ("gb18030", "big5")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # what was used; "utf-8" needs no warning


def decode(data: bytes) -> Decoded:
    """Return the file's text with normalised newlines, or raise ReadError."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return Decoded(_clean(_strict(data, name)), name)
    if b"\x00" in data[:8192]:
        raise ReadError("binary file (contains NUL bytes): not an article; remove it "
                        "from the content folder or re-export it as UTF-8 text")
    try:
        return Decoded(_clean(data.decode("utf-8")), "utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    guessed = _guess_legacy(data)
    if guessed is None:
        line = data[: utf8_error.start].count(b"\n") + 1
        raise ReadError(f"not valid UTF-8 (byte 0x{data[utf8_error.start]:02x} at offset "
                        f"{utf8_error.start}) and not GB18030 or Big5 either; re-save the "
                        "file as UTF-8", line)
    return guessed


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReadError(f"file starts with a {encoding} byte-order mark but is not valid "
                        f"{encoding} at offset {exc.start}; re-save it as UTF-8") from exc


def _guess_legacy(data: bytes) -> Decoded | None:
    """Pick the legacy encoding whose text looks most like Chinese prose."""
    best: Decoded | None = None
    best_score = 0.0
    for name in _LEGACY:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        score = _cjk_ratio(text)
        if score > best_score:
            best, best_score = Decoded(_clean(text), name), score
    return best if best_score >= 0.2 else None


def _cjk_ratio(text: str) -> float:
    """Share of non-ASCII characters that are common CJK ideographs or punctuation."""
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 0.0
    cjk = sum(1 for c in wide if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
              or "\uff00" <= c <= "\uffef")
    return cjk / len(wide)


def _clean(text: str) -> str:
    # CRLF and lone CR become LF so line numbers and regexes agree everywhere.
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
