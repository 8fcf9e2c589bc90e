"""What a reader does, in a real browser, on the site served under /repo/."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import SUB_PATH, Site

ALJAZEERA = "aljazeera"


def _visible_cards(page) -> int:
    return page.locator("main .card:visible").count()


def test_home_chart_renders_and_links_months(site: Site, page) -> None:
    page.goto(site.url())
    chart = page.locator("svg.chart")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    bars = page.locator("svg.chart rect.bar")
    assert bars.count() == 4  # four months have articles
    assert page.locator("svg.chart a.event").count() >= 20  # key events marked
    # A click on a period goes to that period.
    page.locator('svg.chart a[aria-label^="2022年10月"]').click()
    page.wait_for_url(site.url("2022/10/"))
    assert page.locator("h1").inner_text() == "2022年10月"
    assert page.locator("main .card").count() == 2


def test_filters_narrow_the_list_and_live_in_the_url(site: Site, page, context) -> None:
    page.goto(site.url())
    assert _visible_cards(page) == 5
    page.locator(f'#filters input[name=outlet][value="{ALJAZEERA}"]').check()
    page.wait_for_function("document.querySelector('.filter-status').textContent.includes('共找到')")
    assert _visible_cards(page) == 2
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"outlet": [ALJAZEERA]}
    # Several tags: each one narrows further (all must be present).
    page.select_option("#f-tag", "lavrov")
    page.wait_for_function("document.querySelector('.filter-status').textContent.includes('共找到')")
    assert _visible_cards(page) == 2
    assert parse_qs(urlsplit(page.url).query)["tag"] == ["lavrov"]
    # A date range keeps only January 2022.
    page.fill("#filters input[name=to]", "2022-01-31")
    page.locator("#filters input[name=to]").dispatch_event("change")
    page.wait_for_function("document.querySelector('.filter-status').textContent.includes('共找到 1')")
    assert _visible_cards(page) == 1
    shared = page.url
    assert parse_qs(urlsplit(shared).query) == {"outlet": [ALJAZEERA], "tag": ["lavrov"],
                                                "to": ["2022-01-31"]}
    # The shared URL restores the filter in a fresh tab.
    other = context.new_page()
    other.goto(shared)
    other.wait_for_function("document.querySelector('.filter-status').textContent.includes('共找到 1')")
    assert other.locator(f'#filters input[value="{ALJAZEERA}"]').is_checked()
    assert other.locator(".chosen-tags button").count() == 1
    assert _visible_cards(other) == 1
    # Clearing the filter brings the whole list back and cleans the URL.
    other.locator("#filters button[type=reset]").click()
    other.wait_for_function("!location.search")
    assert _visible_cards(other) == 5
    other.close()


def test_filters_are_keyboard_usable(site: Site, page) -> None:
    page.goto(site.url())
    page.locator(f'#filters input[value="{ALJAZEERA}"]').focus()
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('.filter-status').textContent.includes('共找到')")
    assert "outlet=aljazeera" in page.url
    page.keyboard.press("Space")
    page.wait_for_function("!location.search")
    assert _visible_cards(page) == 5


def test_months_fold_and_unfold(site: Site, page) -> None:
    page.goto(site.url())
    fold = page.locator("#m-2022-10 button.fold")
    assert fold.get_attribute("aria-expanded") == "true"
    fold.click()
    assert fold.get_attribute("aria-expanded") == "false"
    assert page.locator("#list-2022-10").is_hidden()
    fold.click()
    assert page.locator("#list-2022-10").is_visible()


def test_search_finds_a_two_character_word(site: Site, page) -> None:
    page.goto(site.url())
    page.fill("#site-q", "谈判")
    page.locator(".site-search button").click()
    page.wait_for_url(re.compile(r".*/repo/search/\?q="))
    page.wait_for_selector("#search-results .result")
    titles = page.locator("#search-results .result-title a")
    hrefs = [titles.nth(i).get_attribute("href") for i in range(titles.count())]
    assert hrefs and all(h.startswith(SUB_PATH + "articles/") for h in hrefs)
    first = page.locator("#search-results .result").first
    assert first.locator("mark").count() >= 1
    assert re.search(r"\d{4}年\d+月\d+日", first.locator(".result-meta").inner_text())
    assert first.locator(".badge").inner_text() in {"美国之音", "半岛电视台"}
    # Results can be filtered by outlet; the filter is in the URL.
    page.locator("#search-form input[name=outlet]").first.check()
    page.wait_for_function("location.search.includes('outlet=')")
    # Following a result opens the article.
    page.locator("#search-results .result-title a").first.click()
    page.wait_for_url(re.compile(r".*/repo/articles/[^/]+/$"))
    assert "谈判" in page.locator(".body").inner_text()


def _result_links(page) -> list[str]:
    return page.locator("#search-results .result-title a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")


def test_search_finds_the_one_article_holding_a_word(site: Site, page) -> None:
    # 驱逐 ("expel") is only in the body of the report on the expelled US diplomat;
    # 通话 ("phone call") only in the one on the US–Russian defence chiefs' call.
    page.goto(site.url("search/?q=驱逐"))
    page.wait_for_selector("#search-results .result")
    assert _result_links(page) == [SUB_PATH + "articles/aljazeera-db32136a5674/"]
    page.fill("#q", "通话")
    page.wait_for_function("location.search.includes('q=%E9%80%9A')")
    page.wait_for_function("document.querySelector('#search-status').textContent.includes('通话')")
    page.wait_for_selector("#search-results .result")
    assert _result_links(page) == [SUB_PATH + "articles/voa-6800196/"]


def test_only_article_bodies_are_indexed(site: Site, page) -> None:
    # 归档 ("archive") is in every page's navigation, never in a body.
    page.goto(site.url("search/?q=归档"))
    page.wait_for_function("document.querySelector('#search-status').textContent.includes('没有')")
    assert _result_links(page) == []


def test_follow_links_article_tag_month_and_back(site: Site, page) -> None:
    page.goto(site.url())
    page.locator("main .card-title a").first.click()
    page.wait_for_url(re.compile(r".*/repo/articles/[^/]+/$"))
    article_url = page.url
    assert page.locator("article h1").is_visible()
    page.locator(".article-tags a").first.click()
    page.wait_for_url(re.compile(r".*/repo/tags/[^/]+/$"))
    assert page.locator("main .card").count() >= 1
    page.locator(".month-title a").first.click()
    page.wait_for_url(re.compile(r".*/repo/\d{4}/\d{2}/$"))
    assert re.fullmatch(r"\d{4}年\d{1,2}月", page.locator("h1").inner_text())
    page.go_back()
    page.wait_for_url(re.compile(r".*/repo/tags/[^/]+/$"))
    page.go_back()
    assert page.url == article_url
    page.go_back()
    assert page.url == site.url()
