"""Checkers over the built site: axe-core in Chromium, the Nu HTML Checker,
linkinator; the transfer budget; screenshots for a person to look at."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.browser.conftest import ARTIFACTS, SUB_PATH, Site, node_tool, require_tool

ARTICLE = "articles/voa-6786297/"
TAG = "tags/lavrov/"
MONTH = "2022/10/"
CHECKED = {"home": "", "article": ARTICLE, "tag": TAG, "month": MONTH, "search": "search/"}
# axe also looks at what the scripts draw: filter results, search results.
AXE_PAGES = {**CHECKED, "home-filtered": "?outlet=aljazeera&tag=lavrov",
             "search-results": "search/?q=%E8%B0%88%E5%88%A4"}
BUDGET = 100 * 1024  # bytes transferred (gzip), images and the search index excluded


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(AXE_PAGES))
def test_axe_finds_no_serious_violation(site: Site, browser, name: str, scheme: str) -> None:
    axe = node_tool("axe-core", "axe.min.js").read_text(encoding="utf-8")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    ctx.route("**/*", lambda route: route.continue_() if "//127.0.0.1:" in route.request.url
              else route.abort())
    page = ctx.new_page()
    try:
        page.goto(site.url(AXE_PAGES[name]))
        page.wait_for_load_state("networkidle")
        if name == "home-filtered":
            page.wait_for_selector("#filter-results .card")
        if name == "search-results":
            page.wait_for_selector("#search-results .result")
        page.add_script_tag(content=axe)
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
    finally:
        ctx.close()
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], json.dumps(bad, ensure_ascii=False, indent=1)


def test_nu_html_checker_reports_no_error(site: Site) -> None:
    java = require_tool("java")
    jar = node_tool("vnu-jar", "build", "dist", "vnu.jar")
    files = [str(site.output / (path + "index.html" if path.endswith("/") or not path
                                else path)) for path in CHECKED.values()]
    files += [str(site.output / "404.html"), str(site.output / "archive" / "index.html")]
    done = subprocess.run([java, "-jar", str(jar), "--errors-only", "--format", "json", *files],
                          capture_output=True, text=True, timeout=300)
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    errors = [f"{m.get('url', '').rsplit('/', 3)[-3:]}:{m.get('lastLine')}: {m.get('message')}"
              for m in messages if m.get("type") == "error"]
    assert errors == [] and done.returncode == 0, "\n".join(errors) or done.stderr


def test_linkinator_finds_no_broken_internal_link(site: Site) -> None:
    node = require_tool("node")
    cli = node_tool("linkinator", "build", "src", "cli.js")
    done = subprocess.run(
        [node, str(cli), site.url(), "--recurse", "--format", "json", "--timeout", "20000",
         "--skip", r"^(?!http://127\.0\.0\.1:)", "--concurrency", "8"],
        capture_output=True, text=True, timeout=600)
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    broken = [f"{link['parent']} → {link['url']} ({link['status']})"
              for link in report["links"] if link["state"] == "BROKEN"]
    checked = [link for link in report["links"] if link["state"] == "OK"]
    assert broken == [], "\n".join(broken)
    assert len(checked) > 40  # it really crawled the site
    assert any(SUB_PATH + "articles/" in link["url"] for link in checked)


def _transfer(site: Site, rel: str) -> int:
    """Gzip size of a page plus the CSS, scripts and icons it loads from the site."""
    html = (site.output / (rel + "index.html" if rel.endswith("/") or not rel else rel))
    total = len(gzip.compress(html.read_bytes(), 6))
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "lxml")
    for tag in soup.find_all(["link", "script"]):
        ref = tag.get("src") or (tag.get("href") if "stylesheet" in (tag.get("rel") or [])
                                 or "icon" in (tag.get("rel") or []) else None)
        if ref and ref.startswith(SUB_PATH):
            total += len(gzip.compress((site.output / ref[len(SUB_PATH):]).read_bytes(), 6))
    return total


@pytest.mark.parametrize("rel", ["", ARTICLE])
def test_pages_stay_within_the_transfer_budget(site: Site, rel: str) -> None:
    assert _transfer(site, rel) < BUDGET


def test_home_page_within_budget_in_the_browser(site: Site, page) -> None:
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(int(r.headers.get("content-length", "0") or 0))
            if "/pagefind/" not in r.url and r.request.resource_type != "image" else None)
    page.goto(site.url())
    page.wait_for_load_state("networkidle")
    # The local server does not compress; what it sends uncompressed is an upper bound.
    assert sum(sizes) < 4 * BUDGET


@pytest.mark.parametrize("width,label", [(1280, "desktop"), (390, "phone")])
@pytest.mark.parametrize("name", ["home", "article"])
def test_screenshots_are_written(site: Site, browser, name: str, width: int, label: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                              device_scale_factor=1)
    ctx.route("**/*", lambda route: route.continue_() if "//127.0.0.1:" in route.request.url
              else route.abort())
    page = ctx.new_page()
    try:
        page.goto(site.url(CHECKED[name]))
        page.wait_for_load_state("networkidle")
        path = ARTIFACTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        # CJK text is drawn with a real CJK font, not boxes.
        assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '俄乌')")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    finally:
        ctx.close()
    assert path.stat().st_size > 10_000
    assert overflow <= 0, f"{name} scrolls sideways at {width}px"


def test_print_styles_hide_navigation(site: Site, page) -> None:
    page.goto(site.url(ARTICLE))
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator(".body").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "article-print.pdf").write_bytes(pdf)


def test_dark_mode_follows_the_system(site: Site, browser) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        ctx = browser.new_context(color_scheme=scheme)
        ctx.route("**/*", lambda route: route.continue_() if "//127.0.0.1:" in route.request.url
                  else route.abort())
        page = ctx.new_page()
        page.goto(site.url())
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        ctx.close()
    light, dark = (sum(map(int, re.findall(r"\d+", colours[k])[:3])) for k in ("light", "dark"))
    assert dark < 150 < light
