"""The decoded input handed to readers."""

from __future__ import annotations

from dataclasses import dataclass

from generator.readers.common import FrontMatter


@dataclass(frozen=True)
class Source:
    rel_path: str
    text: str
    front_matter: FrontMatter | None

    @property
    def body(self) -> str:
        """The text after the front matter, or all of it when there is none."""
        return self.front_matter.body if self.front_matter else self.text

    @property
    def body_line(self) -> int:
        return self.front_matter.body_line if self.front_matter else 1
