"""The hostile build, opened in Chromium: no payload runs, nothing leaves for another host.

Every built HTML page is opened from the site served on 127.0.0.1 (plus the
timeline filtered client-side and the search page with queries, so the
site's own scripts render hostile titles and excerpts too). A canary
`window.__pwned = false` is installed before any page script; every payload
tries to set it or call alert(). On each page, inline-handler events
(mouseover, focus, error, toggle, animation...) are dispatched to every
element, so a surviving handler would fire.

Requests: anything to 127.0.0.1 is served; everything else is aborted, and
counts as a failure except images from img.example.com (scraped bodies
hotlink their own pictures by design; the fixtures use only that host for
pictures that are meant to stay). The site may ship its own scripts: only
payload execution counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import quote, urlsplit

import pytest

from generator.config import load_config
from generator.serve import make_server
from tests.chromium import launched_chromium, serving
from tests.conftest import ROOT
from tests.hostile.conftest import HostileSite, free_port
from tests.hostile.expectations import IMAGE_HOST

CANARY = "window.__pwned = false;"
# Fire every event an inline handler could be waiting for, on every element, and
# list links whose scheme would run code when followed.
PROVOKE = """() => {
  const kinds = ["mouseover", "mouseenter", "mousemove", "mousedown", "mouseup", "focus",
    "focusin", "blur", "input", "toggle", "animationstart", "animationend", "transitionend",
    "load", "error", "pointerenter", "pointerover", "begin", "start", "wheel", "scroll",
    "beforeprint", "hashchange", "message", "pageshow", "resize"];
  const found = [];
  let provoked = 0;
  for (const el of document.querySelectorAll("*")) {
    const handlers = Array.from(el.attributes).filter((a) => /^on/i.test(a.name));
    handlers.forEach((a) => found.push(el.tagName + " " + a.name));
    if (!handlers.length && (el.tagName === "BR" || provoked > 5000)) continue;
    provoked += 1;
    for (const k of kinds) { try { el.dispatchEvent(new Event(k)); } catch (e) {} }
  }
  for (const k of kinds) { try { window.dispatchEvent(new Event(k)); } catch (e) {} }
  for (const a of document.querySelectorAll("a, area, [href], [action], [formaction]")) {
    for (const name of ["href", "xlink:href", "action", "formaction", "src"]) {
      const value = a.getAttribute(name);
      if (value === null) continue;
      let scheme = "";
      try { scheme = new URL(value, location.href).protocol; } catch (e) { continue; }
      if (!/^(https?:|mailto:)$/.test(scheme)) found.push(a.tagName + " " + name + "=" + value.slice(0, 80));
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def served(hostile_site: HostileSite) -> Iterator[HostileSite]:
    config = load_config(hostile_site.config).with_base_url(hostile_site.base_url)
    with serving(make_server(hostile_site.output, config, "127.0.0.1", hostile_site.port)):
        yield hostile_site


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with launched_chromium("the hostile-input browser check") as browser:
        yield browser


SEARCH_DONE = """() => {
  const status = document.getElementById("search-status");
  return !!status && status.textContent.trim() !== "" && !/^正在/.test(status.textContent.trim());
}"""


def _page_urls(site: HostileSite) -> list[str]:
    pages = sorted(p.relative_to(site.output).as_posix() for p in site.output.rglob("*.html"))
    urls = [site.base_url + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
            for rel in pages]
    # Client-side rendering of hostile titles and summaries: the filtered timeline
    # (cards from JSON) and search results (Pagefind excerpts set with innerHTML).
    urls.append(site.base_url + "?outlet=voa&outlet=aljazeera&outlet=other")
    urls += [site.base_url + "search/?q=" + quote(q) for q in ("乌克兰", "onerror", "javascript")]
    return urls


def visit(browser: object, urls: list[str], origin: str) -> tuple[list[str], list[str]]:
    """Open each URL; return (failures, dialogs). A failure is a payload that ran,
    a handler or code link left in the DOM, a navigation away, or a request for
    anything but `origin` (and images from IMAGE_HOST)."""
    failures: list[str] = []
    dialogs: list[str] = []
    current = {"url": ""}
    context = browser.new_context(service_workers="block")  # type: ignore[attr-defined]
    context.add_init_script(CANARY)

    def route(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if urlsplit(request.url).netloc == origin:
            route.continue_()  # type: ignore[attr-defined]
            return
        host = urlsplit(request.url).hostname
        if not (host == IMAGE_HOST and request.resource_type == "image"):
            failures.append(f"{current['url']}: request to {request.url[:100]} "
                            f"({request.resource_type})")
        route.abort()  # type: ignore[attr-defined]

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(f"{current['url']}: {d.type} {d.message!r}"),
                                 d.dismiss()))
    page.on("popup", lambda p: failures.append(f"{current['url']}: opened a popup {p.url}"))
    try:
        for url in urls:
            current["url"] = url
            response = page.goto(url, wait_until="load")
            if response is None or response.status != 200:
                failures.append(f"{url}: HTTP {response.status if response else 'none'}")
            if "search/?q=" in url:
                try:  # Pagefind loads its index, then renders results and excerpts
                    page.wait_for_function(SEARCH_DONE, timeout=15_000)
                    page.wait_for_timeout(200)
                except Exception:  # noqa: BLE001 - reported as a failure
                    failures.append(f"{url}: search never finished")
            elif "?outlet=" in url:
                page.wait_for_selector("#filter-results li.card", timeout=15_000)
            failures += [f"{url}: {item}" for item in page.evaluate(PROVOKE)]
            page.wait_for_timeout(30)
            if page.evaluate("typeof window.__pwned") != "boolean":
                failures.append(f"{url}: the canary is gone (page replaced?)")
            elif page.evaluate("window.__pwned") is not False:
                failures.append(f"{url}: a payload ran (window.__pwned is set)")
            if urlsplit(page.url).path != urlsplit(url).path:
                failures.append(f"{url}: navigated away to {page.url}")
    finally:
        context.close()
    return failures, dialogs


def test_no_payload_runs_and_no_request_leaves(served: HostileSite, chromium: object) -> None:
    urls = _page_urls(served)
    assert len(urls) > len(served.report["articles"])
    failures, dialogs = visit(chromium, urls, f"127.0.0.1:{served.port}")
    assert dialogs == []
    assert failures == []


def test_the_browser_check_catches_a_planted_payload(chromium: object, tmp_path: Path) -> None:
    """The check above must be able to fail: pages that were never sanitized trip it."""
    (tmp_path / "a.html").write_text(
        '<!doctype html><p>x</p><img src="/missing.png" onerror="window.__pwned=true">',
        encoding="utf-8")
    (tmp_path / "b.html").write_text(
        "<!doctype html><script>alert(1)</script>"
        '<link rel="stylesheet" href="https://evil.example/x.css">', encoding="utf-8")
    (tmp_path / "c.html").write_text(
        '<!doctype html><a href="javascript:void(0)">x</a>'
        '<p onmouseover="window.__pwned=true">hover</p>', encoding="utf-8")
    port = free_port()
    server = make_server(tmp_path, load_config(ROOT / "site.yaml").with_base_url(
        f"http://127.0.0.1:{port}/"), "127.0.0.1", port)
    with serving(server):
        failures, dialogs = visit(chromium, [f"http://127.0.0.1:{port}/{n}.html" for n in "abc"],
                                  f"127.0.0.1:{port}")
    text = "\n".join(failures)
    assert "a.html: a payload ran" in text
    assert dialogs and "alert" in dialogs[0]
    assert "b.html: request to https://evil.example/x.css" in text
    assert "c.html: A href=javascript:void(0)" in text and "c.html: P onmouseover" in text
    assert "c.html: a payload ran" in text  # the dispatched mouseover ran the handler
