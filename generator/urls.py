"""The one place that turns site things into paths and URLs.

Every link in every page is made here from `base_url`, so the site works at
a domain root and under a sub-path such as https://user.github.io/repo/.
Pages link with root-relative paths that include the sub-path
("/repo/2022/10/"); feeds, sitemaps and canonical links use absolute URLs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Urls:
    base_url: str  # always ends with "/"

    @functools.cached_property
    def base_path(self) -> str:
        """The sub-path the site lives under, '/' at a domain root."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    def path(self, target: str) -> str:
        """Root-relative URL for a site path such as 'articles/voa-1/'."""
        return self.base_path + target.lstrip("/")

    def absolute(self, target: str) -> str:
        return self.base_url + target.lstrip("/")


# Site paths (relative to the site root, directory style, no leading slash).
def article(slug: str) -> str:
    return f"articles/{slug}/"


def month(year: int, month_number: int) -> str:
    return f"{year:04d}/{month_number:02d}/"


def year(year_number: int) -> str:
    return f"{year_number:04d}/"


def tag(slug: str) -> str:
    return f"tags/{slug}/"


def outlet(key: str) -> str:
    return f"outlets/{key}/"


def paginated(first: str, number: int) -> str:
    """Page 1 is the list's own path; page n lives at <path>page/n/."""
    return first if number == 1 else f"{first}page/{number}/"


def page_part(first: str, key: str, is_first: bool) -> str:
    """A list's first page is the list's own path; the others live at
    <path>page/<key>/ where the key names a month ("2022-10") or a part."""
    return first if is_first else f"{first}page/{key}/"


def output_file(site_path: str) -> str:
    """Where a directory-style site path is written: 'a/b/' → 'a/b/index.html'."""
    if site_path == "" or site_path.endswith("/"):
        return site_path + "index.html"
    return site_path
