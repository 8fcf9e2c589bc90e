"""A small internal link checker for built sites (tests only)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup


def page_for(output: Path, base_path: str, href: str) -> Path | None:
    """The file an internal URL points at, or None for external URLs."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if not path:
        return None
    assert path.startswith(base_path), f"internal link {href!r} ignores base path {base_path!r}"
    rel = path[len(base_path):]
    target = output / rel
    return target / "index.html" if rel == "" or rel.endswith("/") else target


def broken_links(output: Path, base_path: str) -> list[str]:
    """Every internal href/src in every HTML page that does not resolve to a file
    (or to an id on the target page)."""
    broken = []
    ids: dict[Path, set[str]] = {}
    for page in sorted(output.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        for tag in soup.find_all(["a", "link", "img", "script"]):
            href = tag.get("href") or tag.get("src")
            if not href or href.startswith(("mailto:", "#")):
                continue
            target = page_for(output, base_path, href)
            if target is None:
                continue
            if not target.is_file():
                broken.append(f"{page.relative_to(output)} → {href}")
                continue
            fragment = urlsplit(href).fragment
            if fragment and target.suffix == ".html":
                if target not in ids:
                    found = BeautifulSoup(target.read_text(encoding="utf-8"), "lxml")
                    ids[target] = {t["id"] for t in found.find_all(id=True)}
                if fragment not in ids[target]:
                    broken.append(f"{page.relative_to(output)} → {href} (no such id)")
    return broken
