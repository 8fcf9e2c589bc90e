"""Which outlet published an item, decided from the data (URL hosts, author,
categories, image hosts), never from the file name."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

from generator.models import Outlet

VOA = Outlet("voa", "美国之音")
ALJAZEERA = Outlet("aljazeera", "半岛电视台")
RFI = Outlet("rfi", "法广")
OTHER = Outlet("other", "其他媒体")

# (outlet, host suffixes, names as they appear in author/categories/tags)
_RULES: tuple[tuple[Outlet, tuple[str, ...], tuple[str, ...]], ...] = (
    (VOA, ("voachinese.com", "voanews.com", "voacantonese.com"), ("美国之音", "美國之音", "voa")),
    (ALJAZEERA, ("aljazeera.net", "aljazeera.com"), ("aljazeera", "半岛网", "半岛电视台", "半島")),
    (RFI, ("rfi.fr",), ("法广", "法廣", "rfi")),
)

ALL = (VOA, ALJAZEERA, RFI, OTHER)


def by_key(key: str) -> Outlet:
    return next((o for o in ALL if o.key == key), OTHER)


def detect_outlet(urls: Iterable[str | None], names: Iterable[str | None]) -> Outlet:
    """First outlet whose host matches one of `urls`, else whose name appears in
    `names`; OTHER when nothing identifies it. URLs win: they are hard evidence."""
    hosts = [_host(u) for u in urls if u]
    # An image proxy such as images.weserv.nl?url=gdb.voanews.com/... hides the host.
    hosts += [_proxied_host(u) for u in urls if u and "url=" in u]
    for outlet, suffixes, _ in _RULES:
        if any(h == s or h.endswith("." + s) for h in hosts for s in suffixes):
            return outlet
    lowered = [n.lower() for n in names if n]
    for outlet, _, aliases in _RULES:
        if any(a in n for n in lowered for a in aliases):
            return outlet
    return OTHER


def _proxied_host(url: str) -> str:
    target = url.split("url=", 1)[1].split("&", 1)[0]
    if "://" not in target:
        target = "https://" + target
    return _host(target)


def _host(url: str) -> str:
    """The URL's host name; "" when urlsplit refuses it (e.g. "http://[x")."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""
