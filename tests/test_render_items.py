"""Pieces the renderer makes once and reuses: an article page's list items
(Renderer.tag_items, Renderer.link_items) and list pages' months in an order
known in advance (events.ListOrder). Each must give exactly what the plain
way gives, hostile text included."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from generator import events
from generator.models import Article, Outlet
from generator.render import LazyMonths, Renderer, TagInfo, build_site_model
from tests.conftest import ROOT, parse_fixture, site_config

ZONE = ZoneInfo("Asia/Shanghai")
HOSTILE = ['"><script>alert(1)</script>', "O'Brien & <Co>", '普京与“泽连斯基”会谈 & <b>',
           "a&amp;b"]

# The lists as article.html wrote them before their items were reused.
INLINE_LISTS = {
    "tag_meta": '{% for href, name in values|tag_links %}'
                '<meta property="article:tag" content="{{ name }}">\n{% endfor %}',
    "article_tag": '{% for href, name in values|tag_links %}<li><a href="{{ href }}" '
                   'data-pagefind-filter="tag">{{ name }}</a></li>{% endfor %}',
    "other_report": '{% for o in values|card_views %}<li><span class="badge '
                    'badge-{{ o.outlet_key }}">{{ o.outlet_name }}</span> <a href="{{ o.href }}">'
                    '{{ o.title }}</a> <time datetime="{{ o.iso }}">{{ o.day }}</time></li>'
                    '{% endfor %}',
    "related_link": '{% for o in values|card_views %}<li><a href="{{ o.href }}">{{ o.title }}'
                    '</a> <span class="meta">{{ o.outlet_name }} · <time datetime="{{ o.iso }}">'
                    '{{ o.day }}</time></span></li>{% endfor %}',
}


def _article(n: int, when: datetime, title: str = "", outlet: Outlet | None = None,
             tags: tuple[str, ...] = ()) -> Article:
    base = parse_fixture("voa/feed_markdown_with_footer.txt").article
    assert base is not None
    local = when.astimezone(ZONE)
    return replace(base, uid=f"u{n}", slug=f"a-{n}", published=when, title=title or base.title,
                   outlet=outlet or base.outlet, tags=tags or base.tags,
                   local_month=(local.year, local.month))


def _hostile_renderer() -> tuple[Renderer, list[Article]]:
    tags = {f"t{n}": TagInfo(f"t{n}", name) for n, name in enumerate(HOSTILE)}
    start = datetime(2022, 3, 1, 4, tzinfo=timezone.utc)
    articles = [_article(n, start + timedelta(days=n), title, Outlet("voa", title),
                         tuple(tags)) for n, title in enumerate(HOSTILE)]
    site = build_site_model(articles, tags, (), site_config())
    return Renderer(site_config(), ROOT / "templates", site, search=False), articles


@pytest.mark.parametrize("macro", ["tag_meta", "article_tag"])
def test_tag_items_equal_the_inline_list_for_hostile_tag_names(macro: str) -> None:
    renderer, articles = _hostile_renderer()
    inline = renderer.env.from_string(INLINE_LISTS[macro])
    slugs = articles[0].tags
    for _ in range(2):  # rendered, then reused
        assert renderer.tag_items(slugs, macro) == inline.render(values=slugs)
    assert "&lt;script&gt;" in renderer.tag_items(slugs, macro)


@pytest.mark.parametrize("macro", ["other_report", "related_link"])
def test_link_items_equal_the_inline_list_for_hostile_titles(macro: str) -> None:
    renderer, articles = _hostile_renderer()
    inline = renderer.env.from_string(INLINE_LISTS[macro])
    for chosen in (articles, articles[1:3], articles[::-1], []):
        assert renderer.link_items(chosen, macro) == inline.render(values=chosen)
    assert "&#39;" in renderer.link_items(articles, macro)


def _events() -> list[events.Event]:
    return [events.Event(date(2021, 12, 1), "早"), events.Event(date(2022, 2, 20), "同日 B"),
            events.Event(date(2022, 2, 20), "同日 A"), events.Event(date(2022, 3, 15), "空月"),
            events.Event(date(2022, 4, 2), "<末>"), events.Event(date(2022, 6, 1), "晚")]


def _spread(zone: ZoneInfo) -> list[Article]:
    """Articles a few per month, some on an event's day, two at one instant."""
    days = [date(2022, 1, 5), date(2022, 2, 20), date(2022, 2, 20), date(2022, 2, 28),
            date(2022, 4, 2), date(2022, 4, 2), date(2022, 5, 31)]
    times = [datetime(d.year, d.month, d.day, 23, 30, tzinfo=zone).astimezone(timezone.utc)
             for d in days] + [datetime(2022, 4, 2, 15, 30, tzinfo=timezone.utc)]
    return sorted((_article(n, when) for n, when in enumerate(times)),
                  key=lambda a: (a.published, a.uid))


def test_interleave_in_list_order_equals_sorting() -> None:
    site = _spread(ZONE)
    order = events.list_order(site, ZONE)
    assert order is not None
    lists = [site, site[1:4], site[::2], site[4:], [], site[-1:]]
    for articles in lists:
        for shown in ([], _events(), _events()[3:4], _events()[::-1]):
            assert order.places(articles) is not None
            assert (events.interleave(articles, shown, ZONE, order)
                    == events.interleave(articles, shown, ZONE))


def test_interleave_sorts_a_list_not_in_list_order() -> None:
    site = _spread(ZONE)
    order = events.list_order(site, ZONE)
    assert order is not None
    for articles in (site[::-1], site[:2] + [_article(99, site[0].published)]):
        assert order.places(articles) is None
        assert (events.interleave(articles, _events(), ZONE, order)
                == events.interleave(articles, _events(), ZONE))


def test_no_list_order_when_clocks_go_back() -> None:
    # New York, 6 Nov 2022: 01:50 EDT comes before 01:10 EST.
    zone = ZoneInfo("America/New_York")
    earlier = _article(1, datetime(2022, 11, 6, 5, 50, tzinfo=timezone.utc))
    later = _article(2, datetime(2022, 11, 6, 6, 10, tzinfo=timezone.utc))
    assert events.list_order([earlier, later], zone) is None
    assert events.list_order([earlier, later], ZONE) is not None


def test_a_months_article_count_is_its_articles() -> None:
    site = _spread(ZONE)
    months = events.interleave(site, _events(), ZONE)
    assert [m.article_count for m in months] == [
        sum(1 for kind, _ in m.items if kind == "a") for m in months]
    assert sum(m.article_count for m in months) == len(site)


def test_list_pages_group_their_months_in_the_sites_list_order() -> None:
    renderer, articles = _hostile_renderer()
    order = renderer.list_order()
    assert order is not None and order.places(articles) is not None
    months = [value for job in renderer.timeline_pages() for value in job.context.values()
              if isinstance(value, LazyMonths)]
    assert months
    for lazy in months:
        assert lazy.grouped(order) == lazy.grouped()


def _linked_renderer() -> Renderer:
    """The hostile site, each article's related and same-event lists filled."""
    renderer, articles = _hostile_renderer()
    related = {a.slug: tuple(b for b in articles if b is not a) for a in articles}
    same = {a.slug: tuple(articles[:2]) for a in articles[2:]}
    site = build_site_model(articles, renderer.site.tags, (), site_config(), related, same)
    return Renderer(site_config(), ROOT / "templates", site, search=False)


def test_pages_shown_with_texts_rendered_before_forking_equal_pages_rendered_alone() -> None:
    """Cards and article pages' list items rendered once (Renderer.shared_texts,
    as the build does before its render workers fork) give the same pages; a
    marker added to the shared texts shows that the pages really use them."""
    alone = _linked_renderer()
    jobs = [job for group in alone.groups() for job in group.jobs() if job.template]
    bodies = {a.digest: "<p>正文</p>" for a in alone.site.articles}
    expected = [alone.render(job, bodies) for job in jobs]
    for marker in ("", "<!--shared-->"):
        shared = _linked_renderer()
        jobs = [job for group in shared.groups() for job in group.jobs() if job.template]
        texts = shared.shared_texts(jobs)
        assert {text.macro for text in texts} == {"", "related_link", "other_report"}
        shared.share_texts(texts, [shared.render_shared(text) + marker for text in texts])
        pages = [shared.render(job, bodies) for job in jobs]
        if marker:
            article_pages = [p for p, j in zip(pages, jobs) if j.template == "article.html"]
            # Five related items, and two same-event ones on the later pages.
            assert all(page.count(marker) >= len(HOSTILE) - 1 for page in article_pages)
        else:
            assert pages == expected
