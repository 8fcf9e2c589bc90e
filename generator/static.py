"""Static assets (CSS, icons) copied into the output's static/ folder."""

from __future__ import annotations

from pathlib import Path


def static_files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, keyed 'static/<relative path>'."""
    if not folder.is_dir():
        return {}
    return {f"static/{path.relative_to(folder).as_posix()}": path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.name.startswith(".")}
