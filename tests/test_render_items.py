"""Pieces the renderer makes once and reuses: an article page's list items
(Renderer.tag_items, Renderer.link_items), list pages' months in an order
known in advance (events.ListOrder) and their cards joined in Python
(Renderer.items_html). Each must give exactly what the plain
way gives, hostile text included."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup, escape

from generator import events, urls
from generator.models import Article, Outlet
from generator.render import (LazyMonths, PageJob, Renderer, TagInfo, build_site_model,
                              quick_escape)
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


# A month's items and a list's months as the templates showed them before
# they were joined in Python (Renderer.items_html) and included (_grouped.html).
PLAIN_LISTS = """{% from "_macros.html" import event_item %}
{%- macro items_list(items, id, level=3) -%}
<ol class="timeline" id="{{ id }}">
{% for kind, item in items %}{% if kind == 'e' %}{{ event_item(item, level) }}{% else %}{{ item|card_html(level) }}{% endif %}
{% endfor %}
</ol>
{%- endmacro %}
{%- macro grouped(months) -%}
<div class="timeline-view" id="timeline-view">
{% for m in months %}
{% if loop.first or m.year != loop.previtem.year %}
<p class="year-mark" id="y-{{ m.year }}"><span>{{ m.year }}年</span></p>
{% endif %}
<section class="month" id="m-{{ m.year }}-{{ '%02d' % m.month }}" aria-labelledby="mh-{{ m.year }}-{{ '%02d' % m.month }}">
  <div class="month-head">
    <h2 class="month-title" id="mh-{{ m.year }}-{{ '%02d' % m.month }}">{% if m.article_count %}<a href="{{ m.year|month_path(m.month)|url }}">{{ m.year }}年{{ m.month }}月</a>{% else %}{{ m.year }}年{{ m.month }}月{% endif %}</h2>
    <span class="count">{{ m.article_count }} 篇</span>
  </div>
  {{ items_list(m.items, 'list-%d-%02d' % (m.year, m.month)) }}
</section>
{% endfor %}
</div>
{%- endmacro %}
"""


def _hostile_list_renderer(shared: bool) -> tuple[Renderer, list[list[events.MonthItems]]]:
    """The hostile site with hostile events among its articles (one on an
    article's day, one in a month of its own, one after them all), and
    the months of its list pages; with `shared`, its cards rendered as
    the build renders them before forking."""
    renderer, articles = _hostile_renderer()
    days = [date(2022, 3, 2), date(2022, 2, 10), date(2022, 5, 1)]
    shown = tuple(events.Event(day, title, note=title, tags=tuple(renderer.site.tags))
                  for day, title in zip(days, HOSTILE))
    renderer = Renderer(site_config(), ROOT / "templates",
                        replace(renderer.site, events=shown), search=False)
    jobs = [job for group in renderer.groups() for job in group.jobs() if job.template]
    if shared:
        texts = renderer.shared_texts(jobs)
        renderer.share_texts(texts, [renderer.render_shared(text) for text in texts])
    months = [value.grouped(renderer.list_order()) for job in jobs
              for value in job.context.values() if isinstance(value, LazyMonths)]
    return renderer, months


@pytest.mark.parametrize("shared", [False, True])
def test_list_months_equal_the_plain_templates_for_hostile_text(shared: bool) -> None:
    renderer, lists = _hostile_list_renderer(shared)
    plain_grouped = renderer.env.from_string(PLAIN_LISTS + "{{ grouped(months) }}\n")
    plain_items = renderer.env.from_string(
        PLAIN_LISTS + "{{ items_list(items, 'x', level) }}")
    included = renderer.env.from_string('{% include "_grouped.html" %}\n')
    assert any(kind == "e" for months in lists for m in months for kind, _ in m.items)
    for months in lists:
        page = included.render(months=months)
        assert page == plain_grouped.render(months=months)
        assert "&lt;script&gt;" in page and "<script>" not in page
        for m in months:
            for level in (2, 3):
                joined = str(renderer.items_html(m.items, level))
                wrapped = f'<ol class="timeline" id="x">\n{joined}</ol>'
                assert wrapped == plain_items.render(items=m.items, level=level)


def test_joined_items_are_shown_as_they_are_and_escaped_elsewhere() -> None:
    renderer, lists = _hostile_list_renderer(False)
    items = renderer.items_html(lists[0][0].items)
    assert renderer.env.from_string("{{ x }}").render(x=items) == items.text
    assert escape(items) == Markup(items.text)
    assert quick_escape(items) is items.text


def _tag_pages(renderer: Renderer, slug: str) -> list[PageJob]:
    prefix = urls.tag(slug)
    return [job for group in renderer.groups() if group.prefix == prefix
            for job in group.jobs() if job.template == "tag.html"]


def test_a_list_pages_key_changes_with_everything_it_shows() -> None:
    """List pages are keyed by a flat text (Renderer._flat_key_text); each thing
    the page shows must move it: its articles, its events, its place in the
    list, the tag, the lists of the first page. Equal values in other objects
    (a later build's) give the same key."""
    articles = _spread(ZONE)
    tags = {"t0": TagInfo("t0", "标签"), "t1": TagInfo("t1", "另一个")}
    config = replace(site_config(), page_size=2)
    tagged = [replace(a, tags=("t0", "t1")) for a in articles]
    shown = [replace(e, tags=("t0",)) for e in _events()]  # a tag page shows its tag's events

    def renderer_for(items: list[Article], shown: list[events.Event],
                     infos: dict[str, TagInfo] = tags,
                     related: tuple[str, ...] = ("t1",)) -> Renderer:
        site = replace(build_site_model(items, infos, (), config, related_tags={"t0": related}),
                       events=tuple(shown))
        return Renderer(config, ROOT / "templates", site, search=False)

    base = renderer_for(tagged, shown)
    pages = _tag_pages(base, "t0")
    assert len(pages) > 2 and all(base._flat_key_text(job) is not None for job in pages)
    keys = [base.page_key(job) for job in pages]
    assert len(set(keys)) == len(keys)
    # The same site made again from equal objects: the same keys.
    again = renderer_for([replace(a) for a in tagged], [replace(e) for e in shown])
    assert [again._page_key(job) for job in _tag_pages(again, "t0")] == keys

    def moved(renderer: Renderer) -> list[bool]:
        return [renderer._page_key(job) != key
                for job, key in zip(_tag_pages(renderer, "t0"), keys)]

    # An edited article (its fields follow from its bytes: the digest changes).
    edited = [replace(a, title="改了", digest="f" * 64) if n == 4 else a
              for n, a in enumerate(tagged)]
    assert any(moved(renderer_for(edited, shown)))
    other_event = [replace(e, title="改了") if e.title == "<末>" else e for e in shown]
    assert any(moved(renderer_for(tagged, other_event)))  # an event among the months
    renamed = {**tags, "t0": TagInfo("t0", "新名字")}
    assert all(moved(renderer_for(tagged, shown, renamed)))  # the tag on every page
    assert moved(renderer_for(tagged, shown, related=()))[0]  # the first page's related tags
    fewer = tagged[:-1]  # the list's last page changes, and with it every page's pager
    assert all(moved(renderer_for(fewer, shown))[:2])
