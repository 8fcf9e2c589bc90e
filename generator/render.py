"""Pages from the collected site: one Jinja environment, one job per page.

Each page is described by a PageJob (output path, template, context). Its
render key is a hash of everything the page shows — article fingerprints,
neighbours, pagination, templates, settings — so an incremental build can
skip rendering a page whose key did not change since the live build.
Nothing is written here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Generic, Hashable, Iterable, Iterator, Mapping, \
    MutableMapping, NamedTuple, Sequence, TypeVar, cast

from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, \
    Template, select_autoescape
import markupsafe
from markupsafe import Markup, escape

from generator import __version__, chart, seo, urls
from generator.collect import Month, PagePart, by_month, local, local_months, \
    pack_months, runs_by_month
from generator.config import Config
from generator.events import Event, ListOrder, counts_by_month, in_month, interleave, \
    list_order, split_events, tagged
from generator.groups import common_ends, group_articles
from generator.models import Article, Outlet, Page

KIND_LABELS = {"person": "人物", "country": "国家和地区", "organisation": "组织机构",
               "place": "地点", "topic": "议题"}
WEEKDAYS = "一二三四五六日"
# Context values that stand for themselves in a render key.
_PLAIN = frozenset({str, int, float, bool, type(None), datetime, date})


@dataclass(frozen=True)
class TagInfo:
    slug: str
    name: str
    en: str = ""
    kind: str = "topic"


@dataclass(frozen=True)
class SiteModel:
    """Everything the pages show, already ordered."""

    articles: tuple[Article, ...]  # chronological
    months: tuple[Month, ...]
    tags: Mapping[str, TagInfo]
    tag_articles: Mapping[str, tuple[Article, ...]]  # chronological per tag
    outlet_articles: Mapping[str, tuple[Article, ...]]
    outlets: Mapping[str, Outlet]
    related: Mapping[str, tuple[Article, ...]] = field(default_factory=dict)  # by slug
    same_event: Mapping[str, tuple[Article, ...]] = field(default_factory=dict)
    related_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pages: tuple[Page, ...] = ()
    events: tuple[Event, ...] = ()  # key events, by day (content/events.yaml)


CARD_TAGS = 6  # tags shown on a card
# The macros of _macros.html that article.html shows the items of its lists
# with (`{{ related|link_items("related_link") }}`), by context name: their
# items are rendered before the render workers fork (Renderer.shared_texts).
# An item not named here is rendered by the page that shows it, as before.
LINK_MACROS = {"same_event": "other_report", "related": "related_link"}


class SharedText(NamedTuple):
    """A text rendered before the render workers fork: an article's card
    (macro "") or its item in an article page's list (see LINK_MACROS)."""

    article: Article
    macro: str


class CardView(NamedTuple):
    """What a timeline card shows, ready to print."""

    outlet_key: str
    outlet_name: str
    outlet_href: str
    iso: str
    day: str
    href: str
    title: str
    summary: str
    tags: tuple[tuple[str, str], ...]  # (link, name)


class NavLink(NamedTuple):
    """An authored page in the header of every page. Not a dict: the template
    reads `p.path`, and on a dict Jinja gets there only after getattr has
    raised AttributeError (≈4 µs a page, on every page)."""

    title: str
    path: str


@dataclass(frozen=True)
class PageGroup:
    """Pages made together (see Renderer.groups)."""

    prefix: str | None  # every page of the group lives under this site path; None: no digest
    digest: str
    jobs: Callable[[], Iterable[PageJob]]
    # (path, render key, job maker) of each page, when keys are cheaper to
    # compute than jobs: an incremental build makes only the changed pages' jobs.
    keyed: Callable[[], Iterable[KeyedPage]] | None = None


class KeyedPage(NamedTuple):
    path: str
    key: str
    job: Callable[[], PageJob]


@dataclass(frozen=True)
class Pagination:
    number: int
    count: int
    prev: str | None
    next: str | None
    last: str
    label: str = ""  # the page's month (or part of one)
    first: str = ""  # the list's first page


# A page's "template" that is made in code, not by Jinja: a month's cards as
# JSON (Renderer.card_index). Not a file name, so it cannot meet a template.
CARD_ROWS = "@card-rows"


@dataclass(frozen=True)
class PageJob:
    path: str  # file path in the output folder
    template: str | None  # None: `text` is the content; CARD_ROWS: made in code
    context: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    bodies: tuple[Article, ...] = ()  # articles whose body HTML the page needs


def build_site_model(articles: Sequence[Article], tags: Mapping[str, TagInfo],
                     site_pages: Sequence[Page], config: Config,
                     related: Mapping[str, tuple[Article, ...]] | None = None,
                     same_event: Mapping[str, tuple[Article, ...]] | None = None,
                     related_tags: Mapping[str, tuple[str, ...]] | None = None) -> SiteModel:
    """Group chronological articles by month, tag and outlet (patching this
    process's last grouping when few articles changed: generator/groups.py)."""
    groups = group_articles(articles, config.zone)
    return SiteModel(
        articles=groups.articles,
        months=groups.months,
        tags=tags,
        tag_articles=dict(groups.tag_articles),
        outlet_articles=dict(groups.outlet_articles),
        outlets=dict(groups.outlets),
        related=related or {},
        same_event=same_event or {},
        related_tags=related_tags or {},
        pages=tuple(site_pages),
    )


@dataclass(frozen=True)
class EventLink:
    number: int
    event: Event
    href: str  # site path of the timeline page showing it, with its anchor


CARD_LEVEL = 3  # the heading level of a card's title on most list pages
# Most entries a render-time memo keeps. A render worker shows nearly every
# article; memos that kept them all grew by ≈100 MB per worker at 100,000
# articles, while their hits come from pages rendered close together.
MEMO_LIMIT = 1 << 14


# Helpers the templates use as filters (they stay globals too).
FILTER_HELPERS = ("url", "abs_url", "article_path", "month_path", "year_path", "tag_path",
                  "outlet_path", "tag_name", "iso", "iso_utc", "day", "short_day",
                  "full_time", "event_day", "article_ld")


def _bounded(memo: dict[Any, Any]) -> dict[Any, Any]:
    """`memo`, emptied first when it is full: a cheap bound for memos whose
    hits are near each other in time (an LRU's bookkeeping costs more)."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    return memo


class _Rendered(dict[str, Markup]):
    """A macro's output by its argument, made on first use (a dict, so that
    a page's dozen lookups run in C: see Renderer.tag_items)."""

    def __init__(self, macro: Callable[[str], Markup]) -> None:
        super().__init__()
        self._macro = macro

    def __missing__(self, key: str) -> Markup:
        html = self._macro(key)
        _bounded(self)[key] = html
        return html


def _card_at_level(card: str, level: int) -> str:
    """A level-3 card with its title heading at `level`. The card's text is
    escaped, so its only "<h3 " and "</h3>" are the title's own tags."""
    return card.replace(f"<h{CARD_LEVEL} ", f"<h{level} ", 1).replace(
        f"</h{CARD_LEVEL}>", f"</h{level}>", 1)


class SharedCards:
    """Cards of many articles in one string, rendered before the render
    workers fork, so that they share it instead of each keeping its own.

    A worker used to render and keep every card it showed: each worker
    rendered them all again, and at 100,000 articles each held ≈360 MB of
    them. Handing them over in a dict of strings would not share them:
    reading a string updates its reference count, and the write copies the
    memory page it sits on, so a worker that shows every card ends up with a
    copy of every page. One long string has one header; its text stays shared
    and a card is cut out of it when a page needs it."""

    __slots__ = ("_text", "_spans")

    def __init__(self, articles: Sequence[Article], cards: Sequence[str]) -> None:
        self._text = "".join(cards)
        self._spans: dict[int, slice] = {}
        end = 0
        for article, card in zip(articles, cards, strict=True):
            self._spans[id(article)] = slice(end, end + len(card))  # the site model keeps it alive
            end += len(card)

    def get(self, article: Article) -> str | None:
        span = self._spans.get(id(article))
        return None if span is None else self._text[span]

    def items(self, items: Iterable[tuple[str, Any]], other: Callable[[Any], str]) -> list[str]:
        """The card of each ("a", article) item of a list's month and other(item)
        of each other item, in one comprehension (a list page shows ≈50
        cards: a method call per card costs more than the card's slice);
        KeyError when an article's card is not here."""
        text, spans = self._text, self._spans
        return [text[spans[id(item)]] if kind == "a" else other(item) for kind, item in items]


# MarkupSafe 3's C escaper, the core of escape() (None in another MarkupSafe:
# then escape() does all the work, as before).
_escape_text: Callable[[str], str] | None = getattr(markupsafe, "_escape_inner", None)

_as_markup = functools.partial(str.__new__, Markup)  # Markup(text) without Markup.__new__


def quick_escape(value: Any) -> str:
    """markupsafe.escape(value)'s text, for less: autoescaped templates call
    it for every `{{ … }}` (≈1.4 million times at 10,000 articles), and in
    MarkupSafe 3 escape() is Python code around a C escaper, then a Markup
    built by a Python __new__, which copies the text. Compiled templates
    call it only for what they output (Jinja's `escape(…)` around each
    `{{ … }}`: see QuickEscapeTemplate), and output is only joined, never
    escaped again, so it need not be Markup: a str goes straight to the C
    escaper, which hands back the same string when there is nothing to
    escape (most text), and a Markup is returned as it is (escaping it
    would give an equal one). An int (years, months, counts: a few per
    page) is digits and a sign, which escape() leaves as they are; an Html
    is its text, as escape() would give it. Anything else takes escape()
    itself."""
    kind = value.__class__
    if kind is str and _escape_text is not None:
        return _escape_text(value)
    if kind is Markup:
        return value
    if kind is int:
        return str(value)
    if kind is Html:
        return value.text
    return escape(value)


class Html:
    """Text that is HTML already (every part of it escaped where it was made),
    for a template to show as it is: Markup would do, but making a Markup
    copies the text, and a list page's joined cards (Renderer.items_html)
    are most of the page. quick_escape hands back the text itself; anything
    else that escapes it (MarkupSafe's escape, Markup's operators) reads
    __html__, as for Markup."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __html__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


class QuickEscapeTemplate(Template):
    """A Template whose compiled code escapes with quick_escape. The code
    Jinja compiles imports `escape` into the template's namespace, where
    every render function (blocks and macros too) looks it up; this replaces
    it there once, when the template is made from its code."""

    @classmethod
    def _from_namespace(cls, environment: Environment, namespace: Any,
                        globals: Any) -> Template:
        if "escape" in namespace:
            namespace["escape"] = quick_escape
        return super()._from_namespace(environment, namespace, globals)


class SiteEnvironment(Environment):
    """An Environment whose templates see its globals as one plain dict.

    Jinja gives each template a ChainMap over the environment's globals,
    and every render copies that into the page's context key by key in
    Python (≈26 keys per page, and as many again when a page imports
    macros). The renderer sets every global before it loads a template
    and never changes them after, which is what Jinja asks anyway, so a
    snapshot taken when a template is loaded is the same map."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class Renderer:
    def __init__(self, config: Config, template_dir: Path, site: SiteModel,
                 search: bool = True) -> None:
        self.config = config
        # An event links only to tags that have a page.
        self.site = dataclasses.replace(site, events=tuple(
            dataclasses.replace(e, tags=tuple(t for t in e.tags if site.tag_articles.get(t)))
            for e in site.events))
        self.search = search  # a search index is built beside the pages
        self.template_dir = template_dir
        self._base_key = self._compute_base_key()
        self.link = urls.Urls(config.base_url)
        self.env = SiteEnvironment(
            loader=FileSystemLoader(str(template_dir)),
            bytecode_cache=_bytecode_cache(config, self._base_key),
            auto_reload=False,  # templates do not change during a build: no stat per page
            # A plain dict, not an LRU: compiled templates load others on every
            # render (base.html, _macros.html, _grouped.html), and each LRU hit
            # reorders a deque under a lock; a build's templates are few.
            cache_size=-1,
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.template_class = QuickEscapeTemplate
        helpers = self._helpers()
        self.env.globals.update(helpers)
        # The templates call helpers as filters (`{{ path|url }}`, not
        # `{{ url(path) }}`): Jinja calls a filter directly, a global through
        # its context machinery (≈4 µs a call, ≈700,000 calls at 10,000
        # articles). The globals stay for templates that call them.
        # Jinja runs a filter at compile time when its arguments are constants
        # (`'archive/'|url` becomes the path), so compiled templates depend on
        # the settings: see _bytecode_cache.
        self.env.filters.update({name: helpers[name] for name in FILTER_HELPERS})
        self.env.filters["card_view"] = self.card_view
        self.env.filters["card_views"] = self.card_views
        self.env.filters["tag_links"] = self.tag_links
        self.env.filters["card_html"] = self.card_html
        self.env.filters["items_html"] = self.items_html
        self.env.filters["tag_items"] = self.tag_items
        self.env.filters["link_items"] = self.link_items
        self._cards: dict[int, str] = {}
        # Events' items by (id, level), with the event (see _event_html).
        self._events_html: dict[tuple[int, int], tuple[Event, str]] = {}
        self._shared_cards = SharedCards((), ())  # none until share_cards
        self._shared_items: dict[str, SharedCards] = {}  # by macro; see share_texts
        self._views: dict[int, CardView] = {}
        self._tag_links: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
        # Items of article pages' lists, by macro name (see tag_items, link_items).
        self._tag_items: dict[str, _Rendered] = {}
        self._link_items: dict[str, dict[int, Markup]] = defaultdict(dict)
        self._macros: Any = None
        self._list_order: ListOrder | None = None
        self._list_order_made = False
        self.env.globals["card_html"] = self.card_html
        for memo in (FINGERPRINTS, RUN_TOKENS, SITEMAP_ENTRIES):
            memo.bound(self.site.articles)
        self._frozen: dict[int, tuple[Any, Any]] = {}
        self._shared_texts: dict[int, tuple[Any, str]] = {}  # see _shared_text
        # Loaded templates by name: the environment's own cache is an LRU
        # whose every hit reorders a deque (templates do not change during
        # a build: auto_reload is off).
        self._templates: dict[str, Template] = {}

    def load_templates(self) -> None:
        """Compile every template now (before forking render workers, so each
        worker does not compile them again)."""
        for name in self.env.list_templates(extensions=["html", "xml"]):
            self.env.get_template(name)

    # -- helpers available to every template ---------------------------------
    def _helpers(self) -> dict[str, Any]:
        zone = self.config.zone
        # Templates call these tens of times per page with few distinct
        # arguments (the same paths, dates and tags recur on many pages), so
        # answers are memoised: tag names for the whole build, the rest
        # (one per article) in bounded memos, see MEMO_LIMIT.
        memo = functools.lru_cache(maxsize=None)
        small = functools.lru_cache(maxsize=MEMO_LIMIT)
        tag_name = memo(lambda slug: self.site.tags[slug].name if slug in self.site.tags
                        else slug)
        return {
            "site": self.config,
            "url": small(self.link.path),
            "abs_url": small(self.link.absolute),
            "article_path": urls.article,
            "month_path": urls.month,
            "year_path": urls.year,
            "tag_path": urls.tag,
            "outlet_path": urls.outlet,
            "tag_name": tag_name,
            "iso": small(lambda dt: local(dt, zone).isoformat()),
            "iso_utc": lambda dt: dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "day": small(lambda dt: _day(local(dt, zone))),
            "short_day": lambda dt: f"{local(dt, zone).month}月{local(dt, zone).day}日",
            "full_time": lambda dt: _full_time(local(dt, zone)),
            "nav_pages": [NavLink(p.title, f"{p.slug}/") for p in self.site.pages],
            "event_day": lambda e: _day(e.day),
            "article_ld": lambda a: seo.article_json_ld(a, self.config, self.link,
                                                        list(map(tag_name, a.tags))),
            "site_ld": lambda: seo.site_json_ld(self.config, self.link),
            "og_locale": seo.og_locale(self.config.language),
        }

    def card_html(self, article: Article, level: int = 3) -> Markup:
        """An article's timeline card, rendered once per build and reused on every
        list page that shows it (timeline, month, tag and outlet pages). Only the
        level-3 card is kept; month pages (level 2) get it with the heading changed."""
        card = self._card(article)
        return _as_markup(card if level == CARD_LEVEL else _card_at_level(card, level))

    def items_html(self, items: Sequence[tuple[str, Any]], level: int = CARD_LEVEL) -> Html:
        """The cards and events of a list page's month, joined, as the page
        shows them (_grouped.html, month.html). A Jinja loop over them costs
        a loop step, a filter call and a Markup copy per card (≈50 cards a
        page), and a Markup of the whole would copy it again."""
        event = functools.partial(self._event_html, level=level)
        try:
            parts = self._shared_cards.items(items, event)
        except KeyError:  # cards not rendered before forking (a small build)
            parts = [self._card(item) if kind == "a" else event(item) for kind, item in items]
        if level != CARD_LEVEL:
            parts = [_card_at_level(part, level) if kind == "a" else part
                     for part, (kind, _) in zip(parts, items)]
        return Html("".join(parts))

    def _card(self, article: Article) -> str:
        """The article's card at CARD_LEVEL: shared, else rendered here once."""
        card = self._shared_cards.get(article)
        if card is None:
            card = self._cards.get(id(article))
            if card is None:
                card = self._cards[id(article)] = self.render_card(article)
        return card

    def _event_html(self, event: Event, level: int) -> str:
        """An event as event_item of _macros.html shows it at `level` (events
        are few, and each is on a few pages: rendered once per level)."""
        found = self._events_html.get((id(event), level))
        if found is None or found[0] is not event:
            found = self._events_html[id(event), level] = (
                event, str(self._macro("event_item")(event, level)))
        return found[1]

    def render_card(self, article: Article) -> str:
        """The article's card at CARD_LEVEL, as plain text."""
        return str(self._macro("card")(self.card_view(article), CARD_LEVEL))

    def tag_items(self, slugs: Iterable[str], macro: str) -> Markup:
        """Each tag as `macro` of _macros.html shows it, joined. A tag's item
        is the same on every page, so it is rendered once per build: rendered
        in the page, an article's dozen tags (twice: a list and meta tags) were
        over a hundred escaped pieces of every article page."""
        items = self._tag_items.get(macro)
        if items is None:
            items = self._tag_items[macro] = _Rendered(self._macro(macro))
        return _as_markup("".join(map(items.__getitem__, slugs)))

    def link_items(self, articles: Iterable[Article], macro: str) -> Markup:
        """Each article as `macro` of _macros.html shows its CardView, joined:
        an article's item is rendered once and reused on the other article
        pages that list it (kept while it is likely to be shown again; see
        _bounded)."""
        items = self._link_items[macro]
        shared = self._shared_items.get(macro)
        parts: list[str] = []
        for article in articles:
            html = shared.get(article) if shared is not None else None
            if html is None:
                html = items.get(id(article))
            if html is None:
                html = self._macro(macro)(self.card_view(article))
                _bounded(items)[id(article)] = html  # the site model keeps the article alive
            parts.append(html)
        return _as_markup("".join(parts))

    def _macro(self, name: str) -> Callable[..., Markup]:
        """A macro of _macros.html (its module is made once)."""
        if self._macros is None:
            self._macros = self.env.get_template("_macros.html").module
        return getattr(self._macros, name)  # type: ignore[no-any-return]

    def share_cards(self, cards: SharedCards) -> None:
        """Take cards rendered before the render workers fork (see SharedCards)."""
        self._shared_cards = cards

    def shared_texts(self, jobs: Iterable[PageJob]) -> list[SharedText]:
        """What these pages show that is worth rendering once before the
        render workers fork: each card, and each item of an article page's
        linked lists (≈17,000 items of ≈13,000 distinct ones at 10,000
        articles, which each worker rendered again with the CardView under
        it). An article's texts come together, so that one CardView serves
        them all wherever they are rendered."""
        macros = self._link_macros()
        linked: dict[int, tuple[Article, dict[str, None]]] = {}
        for job in jobs:
            if job.template != "article.html":
                continue
            for name, macro in macros.items():
                for article in job.context.get(name, ()):
                    linked.setdefault(id(article), (article, {}))[1][macro] = None
        texts = []
        for article in self.card_articles(jobs):
            texts.append(SharedText(article, ""))
            texts += [SharedText(article, m) for m in linked.pop(id(article), (article, {}))[1]]
        for article, shown in linked.values():
            texts += [SharedText(article, m) for m in shown]
        return texts

    def _link_macros(self) -> dict[str, str]:
        """LINK_MACROS, less those _macros.html does not define."""
        self._macro("card")  # loads the module
        return {name: macro for name, macro in LINK_MACROS.items()
                if hasattr(self._macros, macro)}

    def render_shared(self, text: SharedText) -> str:
        """A card or link item's text (see shared_texts)."""
        if not text.macro:
            return self.render_card(text.article)
        return str(self._macro(text.macro)(self.card_view(text.article)))

    def share_texts(self, texts: Sequence[SharedText], rendered: Sequence[str]) -> None:
        """Take the texts rendered before the render workers fork, each kind
        in one string (see SharedCards)."""
        kinds: dict[str, tuple[list[Article], list[str]]] = {}
        for text, html in zip(texts, rendered, strict=True):
            articles, htmls = kinds.setdefault(text.macro, ([], []))
            articles.append(text.article)
            htmls.append(html)
        shared = {macro: SharedCards(*pair) for macro, pair in kinds.items()}
        self.share_cards(shared.pop("", SharedCards((), ())))
        self._shared_items = shared

    @staticmethod
    def card_articles(jobs: Iterable[PageJob]) -> list[Article]:
        """The articles whose cards these pages show, each once, in page order."""
        seen: dict[int, Article] = {}
        for job in jobs:
            for value in job.context.values():
                if isinstance(value, LazyMonths):
                    for article in value.articles:
                        seen.setdefault(id(article), article)
        return list(seen.values())

    def card_view(self, article: Article) -> CardView:
        """An article as cards and link lists show it (kept while it is likely
        to be shown again; see _bounded)."""
        found = self._views.get(id(article))
        if found is None:
            url, iso, day = self._helper("url"), self._helper("iso"), self._helper("day")
            found = CardView(
                article.outlet.key, article.outlet.name, url(urls.outlet(article.outlet.key)),
                iso(article.published), day(article.published), url(urls.article(article.slug)),
                article.title, article.summary, self.tag_links(article.tags[:CARD_TAGS]))
            _bounded(self._views)[id(article)] = found  # the site model keeps the article alive
        return found

    def card_views(self, articles: Iterable[Article]) -> list[CardView]:
        return [self.card_view(a) for a in articles]

    def _helper(self, name: str) -> Callable[..., str]:
        """A template helper (the memoised one the templates call)."""
        return self.env.globals[name]  # type: ignore[return-value]

    def tag_links(self, slugs: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """(link, name) of each tag."""
        found = self._tag_links.get(slugs)
        if found is None:
            url, name = self._helper("url"), self._helper("tag_name")
            found = tuple((url(urls.tag(t)), name(t)) for t in slugs)
            _bounded(self._tag_links)[slugs] = found
        return found

    # -- keys and rendering -------------------------------------------------
    def _compute_base_key(self) -> str:
        """Templates, settings, generator version and tag names: a change to any
        of them may change every page."""
        digest = hashlib.sha256(__version__.encode())
        for path in sorted(self.template_dir.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(self.template_dir).as_posix().encode())
                digest.update(path.read_bytes())
        digest.update(repr(self.config).encode())
        digest.update(repr(sorted(self.site.tags.items())).encode())
        digest.update(repr([(p.slug, p.title) for p in self.site.pages]).encode())
        return digest.hexdigest()

    def page_key(self, job: PageJob) -> str:
        """A hash of everything the page shows."""
        return RESIDENT.recall(self._base_key, job.path, (job.template, job.text, job.context),
                               lambda: self._page_key(job))

    def _page_key(self, job: PageJob) -> str:
        if job.template == "article.html":
            c = job.context
            return self._article_key(c["a"], c["prev"], c["next"], c["related"],
                                     c["same_event"])
        flat = self._flat_key_text(job)
        if flat is not None:
            return hashlib.sha256((self._base_key + flat).encode()).hexdigest()[:32]
        frozen = (job.path, job.template, job.text,
                  tuple((name, self._freeze(value)) for name, value in job.context.items()))
        return hashlib.sha256((self._base_key + repr(frozen)).encode()).hexdigest()[:32]

    def _flat_key_text(self, job: PageJob) -> str | None:
        """The key's text for a page whose context holds only articles, runs of
        articles (a list page's months among them), records of plain values
        and values shared by many pages: no general walk, and no repr of a
        frozen run of fingerprints. Article pages (10,000 of them) and list
        pages (a big tag's 200: an incremental build keys every page of the
        changed article's tags) take this path; None for any other page."""
        parts = ["\x1eflat", job.path, job.template or "", job.text]
        fingerprint = FINGERPRINTS
        for name, value in job.context.items():
            kind = type(value)
            if kind is Article:
                parts.append(f"{name}={fingerprint(value)}")
            elif kind in _PLAIN or kind in _PLAIN_RECORDS:
                parts.append(f"{name}={value!r}")
            elif kind is tuple and _only_articles(value):
                parts.append(f"{name}=({','.join(fingerprint.many(value))})")
            elif kind is LazyMonths and _only_articles(value.articles):
                parts.append(f"{name}=LazyMonths({','.join(fingerprint.many(value.articles))};"
                             f"{self._shared_text(value.events)};{value.timezone!r})")
            elif kind is list or kind is dict:
                parts.append(f"{name}={self._shared_text(value)}")
            else:
                return None
        return "\x1f".join(parts)

    def _shared_text(self, value: Any) -> str:
        """repr of the frozen `value`, made once per object: most lists a list
        page shows besides its articles (the timeline's filter choices on
        each of its 200 pages) are the same objects on every page of the
        list. The memo keeps the object alive (see _freeze), and page
        contexts are never changed once made."""
        found = self._shared_texts.get(id(value))
        if found is None or found[0] is not value:
            found = self._shared_texts[id(value)] = (value, repr(self._freeze(value)))
        return found[1]

    def _article_key(self, article: Article, prev: Article | None, next_: Article | None,
                     related: tuple[Article, ...], same_event: tuple[Article, ...]) -> str:
        """An article page's key: the page shows only these articles (its other
        context — output path, local year and month — follows from the article
        and the settings in the base key). One join per page: there are
        10,000 of them at 10,000 articles."""
        fingerprint = FINGERPRINTS
        text = "\x1f".join((
            "\x1earticle", fingerprint(article),
            fingerprint(prev) if prev is not None else "-",
            fingerprint(next_) if next_ is not None else "-",
            ",".join(map(fingerprint, related)), ",".join(map(fingerprint, same_event))))
        return hashlib.sha256((self._base_key + text).encode()).hexdigest()[:32]

    def _freeze(self, value: Any) -> Any:
        """A hashable, repr-stable stand-in for a page context value.

        This runs for every page on every build (≈14,000 pages at 10,000
        articles), so the common shapes — an article, a tuple of articles, a
        page's months — take short paths before the general walk."""
        kind = type(value)
        if kind is Article:
            return FINGERPRINTS(value)
        if kind in _PLAIN:
            return value
        if (kind is list or kind is tuple) and len(value) > 16 and _plain_rows(value):
            # A long list of rows of plain values (the sitemap's 10,000
            # entries): what the general walk below would make, in C.
            return tuple(map(tuple, value))
        if kind is LazyMonths:
            return ("LazyMonths", self._articles(value.articles), self._freeze(value.events),
                    value.timezone)
        if kind is tuple and value and type(value[0]) is Article:
            return self._articles(value)
        if kind is list or kind is dict or (kind is tuple and len(value) > 16):
            # Lists and dicts, and big tuples, are usually shared by many pages
            # (filter choices, events): freeze each once. The memo keeps the
            # object alive, so its id cannot be reused by another object
            # during the build; page contexts are never changed once made.
            memo = self._frozen.get(id(value))
            if memo is None or memo[0] is not value:
                memo = (value, self._freeze_container(value))
                self._frozen[id(value)] = memo
            return memo[1]
        if kind is tuple or kind is list or isinstance(value, Mapping):
            return self._freeze_container(value)
        if isinstance(value, (list, tuple)):
            return tuple(self._freeze(v) for v in value)
        if dataclasses.is_dataclass(value):
            # Events and tag infos recur on every page of a tag or month:
            # each is frozen once (the memo keeps it alive, as above).
            memo = self._frozen.get(id(value))
            if memo is None or memo[0] is not value:
                memo = (value, (kind.__name__,) + tuple(
                    self._freeze(getattr(value, f.name)) for f in dataclasses.fields(value)))
                self._frozen[id(value)] = memo
            return memo[1]
        raise TypeError(f"cannot fingerprint {kind.__name__} in a page context")

    def _articles(self, articles: Sequence[Any]) -> tuple[Any, ...]:
        """Fingerprints of a run of articles (anything else in it frozen as usual)."""
        if _only_articles(articles):
            return tuple(FINGERPRINTS.many(articles))
        fingerprint, freeze = FINGERPRINTS, self._freeze
        return tuple(fingerprint(a) if type(a) is Article else freeze(a) for a in articles)

    def _freeze_container(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return tuple((k, self._freeze(v)) for k, v in value.items())
        return tuple(self._freeze(v) for v in value)

    def render(self, job: PageJob, bodies: Mapping[str, str] | None = None) -> str:
        """The page's text; `bodies` maps article digest → sanitised body HTML."""
        if job.template is None:
            return job.text
        if job.template == CARD_ROWS:
            return self._card_rows(job.context["articles"])
        # Months are grouped for this render only: kept on the job, they would
        # pile up in a render worker until the build ends.
        context = {name: value.grouped(self.list_order()) if type(value) is LazyMonths
                   else value for name, value in job.context.items()}
        template = self._templates.get(job.template)
        if template is None:
            template = self._templates[job.template] = self.env.get_template(job.template)
        return template.render(page_path=_site_path(job.path), bodies=bodies or {}, **context)

    def list_order(self) -> ListOrder | None:
        """The site's articles in the order list pages show them (see
        events.ListOrder), made on first use: the first list page, or the
        build before it forks render workers, so that they share it."""
        if not self._list_order_made:
            self._list_order = list_order(self.site.articles, self.config.zone)
            self._list_order_made = True
        return self._list_order

    def _page(self, template: str, site_path: str, bodies: tuple[Article, ...] = (),
              **context: Any) -> PageJob:
        return PageJob(urls.output_file(site_path), template, context, bodies=bodies)

    # -- page kinds ----------------------------------------------------------
    def groups(self) -> Iterator[PageGroup]:
        """The site's pages in groups. A group with a prefix holds every page
        under that site path, and its digest covers everything those pages
        show: when the digest is the one the live site was built from, an
        incremental build keeps the group without making its jobs."""
        yield PageGroup(None, "", self._site_wide_pages)
        yield PageGroup(None, "", self.article_pages, self.article_keys)
        months = self.site.months
        for index, month in enumerate(months):
            events = tuple(in_month(self.site.events, month.year, month.month))
            prev_ref = _month_ref(months[index - 1]) if index else None
            next_ref = _month_ref(months[index + 1]) if index + 1 < len(months) else None
            prefix = urls.month(month.year, month.month)
            yield PageGroup(prefix,
                            self._digest(prefix, "month", month.year, month.month,
                                         month.articles, events, prev_ref, next_ref),
                            functools.partial(self._month_pages, month, events, prev_ref,
                                              next_ref))
        for slug, items in self.site.tag_articles.items():
            info = self.site.tags.get(slug, TagInfo(slug, slug))
            related = tuple(self.site.tags[t] for t in self.site.related_tags.get(slug, ())
                            if t in self.site.tags)
            events = tuple(tagged(self.site.events, slug))
            prefix = urls.tag(slug)
            yield PageGroup(prefix, self._digest(prefix, "tag", slug, info, related, events, items),
                            functools.partial(self._tag_group, slug, items, info, related,
                                              events))
        for key, items in self.site.outlet_articles.items():
            outlet = self.site.outlets[key]
            prefix = urls.outlet(key)
            yield PageGroup(prefix, self._digest(prefix, "outlet", key, outlet, items),
                            functools.partial(self._paginated, "outlet.html", urls.outlet(key),
                                              items, outlet=outlet))

    def _digest(self, prefix: str, *values: Any) -> str:
        """The digest of the group under `prefix`, made from `values`."""
        return RESIDENT.recall(self._base_key, ("group", prefix), values,
                               lambda: self._compute_digest(values, prefix))

    def _compute_digest(self, values: tuple[Any, ...], prefix: str = "") -> str:
        digest = hashlib.sha256(self._base_key.encode())
        for index, value in enumerate(values):
            digest.update(b"\x1e")
            digest.update(self._digest_part(value, (prefix, index)))
        return digest.hexdigest()[:32]

    def _digest_part(self, value: Any, name: Hashable = None) -> bytes:
        """A value's part of a group digest. Runs of articles (a month's, a
        tag's: 80,000 references over all groups at 10,000 articles) are
        their articles' tokens joined, not a frozen tuple's repr; a named
        run's tokens are kept in step with it (see RunMemo)."""
        if type(value) is tuple and value and _only_articles(value):
            tokens = RUN_TOKENS.many(value) if name is None else RUNS.values(
                self._base_key, ("tokens", name), value, RUN_TOKENS.many)
            return b"A:" + b"".join(tokens)
        return repr(self._freeze(value)).encode()

    def _site_wide_pages(self) -> Iterator[PageJob]:
        """Pages that show the whole site (totals, indexes, the timeline)."""
        yield from self.timeline_pages()
        yield from self.card_index()
        yield from self.year_pages()
        yield self.archive_page()
        yield self.tag_index()
        yield self.outlet_index()
        yield from self.authored_pages()
        yield self.feed()
        yield self.search_page()
        yield self._page("404.html", "404.html")
        yield self.sitemap()
        yield PageJob("robots.txt", None, text=f"User-agent: *\nAllow: /\nSitemap: "
                      f"{self.link.absolute('sitemap.xml')}\n")
        yield PageJob(".nojekyll", None)

    def _paginated(self, template: str, first: str, items: Sequence[Article],
                   events: Sequence[Event] = (), first_extra: Mapping[str, Any] | None = None,
                   parts: Sequence[PagePart] | None = None, **context: Any) -> Iterator[PageJob]:
        """A long list split into month pages, oldest first, with the events that
        fall among each page's articles. Whatever changes with every added
        article (totals, per-month counts) goes on the first page only, so an
        incremental build re-renders just the pages of the article's month."""
        if parts is None:
            parts = self._month_parts(first, items)
        paths = [urls.page_part(first, part.key, n == 0) for n, part in enumerate(parts)]
        placed = split_events([p.articles for p in parts], events, self.config.zone)
        for number, part in enumerate(parts, start=1):
            pagination = Pagination(
                number, len(parts), paths[number - 2] if number > 1 else None,
                paths[number] if number < len(parts) else None, paths[-1], part.label, first)
            extra = dict(first_extra or {}) if number == 1 else {}
            yield self._page(template, paths[number - 1], pagination=pagination,
                             months=LazyMonths(part.articles, tuple(placed[number - 1]),
                                               self.config.timezone),
                             total=len(items) if number == 1 else None,
                             latest_path=paths[-1], **context, **extra)

    def _month_parts(self, first: str, items: Sequence[Article]) -> list[PagePart]:
        """The pages of the list whose first page is `first` (see month_parts);
        the same as last build's while the list holds the same articles."""
        return RESIDENT.recall(self._base_key, ("parts", first), items, lambda: pack_months(
            self._months(first, items), self.config.page_size))

    def _months(self, first: str, items: Sequence[Article]) -> list[Month]:
        """collect.by_month(items), reading only the articles that changed
        since the last build of the list whose first page is `first`."""
        months = RUNS.values(self._base_key, ("months", first), items,
                             functools.partial(local_months, zone=self.config.zone))
        return runs_by_month(items, months)

    def _month_links(self, first: str, parts: Sequence[PagePart]) -> list[tuple[str, int, str]]:
        """(label, count, page) for each month of a list (given as its pages),
        pointing at the list's own page for that month."""
        links: dict[str, tuple[str, int, str]] = {}
        for index, part in enumerate(parts):
            if not part.articles:
                continue
            when = local(part.articles[0].published, self.config.zone)
            name = f"{when.year}年{when.month}月"
            label, count, page = links.get(name, (name, 0, urls.page_part(first, part.key,
                                                                              index == 0)))
            links[name] = (label, count + len(part.articles), page)
        return list(links.values())

    def event_links(self) -> list[EventLink]:
        """Every event with the timeline page (and anchor) that shows it."""
        parts = self._month_parts("", self.site.articles)
        placed = split_events([p.articles for p in parts], self.site.events, self.config.zone)
        where = {id(e): urls.page_part("", part.key, n == 0)
                 for n, (part, group) in enumerate(zip(parts, placed)) for e in group}
        return [EventLink(n, e, f"{where[id(e)]}#{e.anchor}")
                for n, e in enumerate(self.site.events, start=1)]

    def _filter_choices(self) -> dict[str, Any]:
        """What the timeline's filter form offers: outlets and tags with articles."""
        outlets = [(k, o.name) for k, o in self.site.outlets.items()]
        groups = []
        for kind, label in KIND_LABELS.items():
            tags = sorted((info.name, slug) for slug, info in self.site.tags.items()
                          if info.kind == kind and self.site.tag_articles.get(slug))
            if tags:
                groups.append((label, [(slug, name) for name, slug in tags]))
        first, last = self._date_span()
        return {"filter_outlets": outlets, "filter_tags": groups,
                "date_min": first, "date_max": last}

    def _date_span(self) -> tuple[str, str]:
        scope = self.config.scope
        days = [local(a.published, self.config.zone).date() for a in
                (self.site.articles[:1] + self.site.articles[-1:])]
        first = min([scope.start] + days) if scope.enabled else min(days, default=scope.start)
        last = max([scope.end] + days) if scope.enabled else max(days, default=scope.end)
        return first.isoformat(), last.isoformat()

    def overview(self) -> dict[str, Any]:
        """The home page's chart and list of key events."""
        links = self.event_links()
        scope = self.config.scope
        first = (scope.start.year, scope.start.month) if scope.enabled else (9999, 12)
        last = (scope.end.year, scope.end.month) if scope.enabled else (0, 1)
        counts = counts_by_month(self.site.articles, self.config.zone)
        if not counts and not scope.enabled:
            return {"chart_svg": "", "event_links": links}
        months = chart.chart_months(counts, first, last,
                                    lambda y, m: self.link.path(urls.month(y, m)))
        marks = [chart.ChartEvent(link.event, self.link.path(link.href)) for link in links]
        return {"chart_svg": chart.render_svg(months, marks), "event_links": links}

    def timeline_pages(self) -> Iterator[PageJob]:
        yield from self._paginated("timeline.html", "", self.site.articles,
                                   events=self.site.events, first_extra=self.overview(),
                                   **self._filter_choices())

    def card_index(self) -> Iterator[PageJob]:
        """Compact JSON of every article's card, one file per month, which the
        timeline's filters load on demand (so a filter sees the whole corpus,
        not just the page it runs on); cards/index.json lists the months."""
        months = []
        for month in self.site.months:
            name = f"{month.year:04d}-{month.month:02d}"
            months.append([name, len(month.articles)])
            # Keyed by its articles like a list page, written out only when
            # rendered: a build from the command line made every month's JSON
            # (≈0.4 s at 10,000 articles) just to find most of them unchanged.
            yield PageJob(f"cards/{name}.json", CARD_ROWS, {"articles": month.articles})
        outlets = {k: o.name for k, o in self.site.outlets.items()}
        tags = {slug: info.name for slug, info in self.site.tags.items()
                if self.site.tag_articles.get(slug)}
        yield PageJob("cards/index.json", None,
                      text=_json({"months": months, "outlets": outlets, "tags": tags}))

    def _card_rows(self, articles: Sequence[Article]) -> str:
        return _json([[a.slug, local(a.published, self.config.zone).isoformat(), a.outlet.key,
                       a.title, a.summary, list(a.tags)] for a in articles])

    def article_pages(self) -> Iterator[PageJob]:
        articles = self.site.articles
        for index, article in enumerate(articles):
            yield self.article_page(article, articles[index - 1] if index else None,
                                    articles[index + 1] if index + 1 < len(articles) else None)

    def article_keys(self) -> Iterator[KeyedPage]:
        """Each article page's path and key, with what makes its job."""
        articles, site = self.site.articles, self.site
        last = len(articles) - 1
        for index, article in enumerate(articles):
            prev = articles[index - 1] if index else None
            next_ = articles[index + 1] if index < last else None
            shown = (article, prev, next_, site.related.get(article.slug, ()),
                     site.same_event.get(article.slug, ()))
            key = RESIDENT.recall(self._base_key, ("article", article.slug), shown,
                                  functools.partial(self._article_key, *shown))
            yield KeyedPage(urls.output_file(urls.article(article.slug)), key,
                            functools.partial(self.article_page, article, prev, next_))

    def article_page(self, article: Article, prev: Article | None,
                     next_: Article | None) -> PageJob:
        when = local(article.published, self.config.zone)
        return self._page("article.html", urls.article(article.slug), bodies=(article,),
                          a=article, prev=prev, next=next_, local_year=when.year,
                          local_month=when.month,
                          related=self.site.related.get(article.slug, ()),
                          same_event=self.site.same_event.get(article.slug, ()))

    def _month_pages(self, month: Month, events: tuple[Event, ...], prev_ref: MonthRef | None,
                     next_ref: MonthRef | None) -> Iterator[PageJob]:
        yield from self._paginated(
            "month.html", urls.month(month.year, month.month), month.articles, events=events,
            year=month.year, month=month.month, prev_month=prev_ref, next_month=next_ref)

    def _years(self) -> list[dict[str, Any]]:
        grouped: dict[int, list[Month]] = defaultdict(list)
        for month in self.site.months:
            grouped[month.year].append(month)
        return [{"year": y, "months": ms, "total": sum(len(m.articles) for m in ms)}
                for y, ms in sorted(grouped.items())]

    def year_pages(self) -> Iterator[PageJob]:
        years = self._years()
        for index, entry in enumerate(years):
            months = [Month(m.year, m.month, m.articles[:5]) for m in entry["months"]]
            counts = {m.month: len(m.articles) for m in entry["months"]}
            yield self._page("year.html", urls.year(entry["year"]), year=entry["year"],
                             months=months, counts=counts, total=entry["total"],
                             prev_year=years[index - 1]["year"] if index else None,
                             next_year=years[index + 1]["year"] if index + 1 < len(years)
                             else None)

    def archive_page(self) -> PageJob:
        years = [{"year": y["year"], "total": y["total"],
                  "months": [(m.month, len(m.articles)) for m in y["months"]]}
                 for y in self._years()]
        return self._page("archive.html", "archive/", years=years)

    def _tag_group(self, slug: str, items: Sequence[Article], info: TagInfo,
                   related: tuple[TagInfo, ...], events: tuple[Event, ...]) -> Iterator[PageJob]:
        """A tag's pages and its feed."""
        parts = self._month_parts(urls.tag(slug), items)
        month_counts = self._month_links(urls.tag(slug), parts)
        yield from self._paginated("tag.html", urls.tag(slug), items, parts=parts,
                                   events=events, tag=info,
                                   first_extra={"month_counts": month_counts,
                                                "related_tags": list(related)})
        yield self.tag_feed(slug, items, info)

    def tag_index(self) -> PageJob:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for slug, items in self.site.tag_articles.items():
            info = self.site.tags.get(slug, TagInfo(slug, slug))
            groups[info.kind].append({"slug": slug, "name": info.name, "count": len(items)})
        ordered: list[dict[str, Any]] = [
            {"label": KIND_LABELS.get(kind, kind), "tags": sorted(groups[kind], key=_by_count)}
            for kind in KIND_LABELS if kind in groups]
        return self._page("tags.html", "tags/", groups=ordered)

    def outlet_index(self) -> PageJob:
        listing = [{"key": key, "name": self.site.outlets[key].name, "count": len(items)}
                   for key, items in self.site.outlet_articles.items()]
        return self._page("outlets.html", "outlets/", outlets=listing)

    def authored_pages(self) -> Iterator[PageJob]:
        for page in self.site.pages:
            yield self._page("page.html", f"{page.slug}/", page=page)

    def feed(self) -> PageJob:
        entries = tuple(reversed(self.site.articles[-self.config.feed_size:]))
        updated = entries[0].published if entries else datetime(2022, 1, 1, tzinfo=timezone.utc)
        return self._page("feed.xml", "feed.xml", bodies=entries, entries=entries,
                          feed_path="feed.xml", feed_page="", feed_title=self.config.title,
                          updated=updated.strftime("%Y-%m-%dT%H:%M:%SZ"), with_content=True)

    def tag_feed(self, slug: str, items: Sequence[Article], info: TagInfo) -> PageJob:
        """A tag's Atom feed: its latest articles, with summaries (full text is
        in the site's main feed and on the pages)."""
        entries = tuple(reversed(items[-self.config.feed_size:]))
        path = urls.tag(slug) + "feed.xml"
        return self._page("feed.xml", path, entries=entries, feed_path=path,
                          feed_page=urls.tag(slug),
                          feed_title=f"{info.name} · {self.config.title}",
                          updated=entries[0].published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          with_content=False)

    def search_page(self) -> PageJob:
        return self._page("search.html", "search/", search_enabled=self.search)

    def sitemap(self) -> PageJob:
        entries: list[tuple[str, str | None]] = [("", None)]
        entries += SITEMAP_ENTRIES.many(self.site.articles)
        entries += [(urls.month(m.year, m.month), None) for m in self.site.months]
        entries += [(urls.tag(slug), None) for slug in self.site.tag_articles]
        return self._page("sitemap.xml", "sitemap.xml", entries=entries)


T = TypeVar("T")


class ResidentMemo:
    """Render keys, group digests and card texts of earlier builds in this
    process, with the values they were computed from.

    The watch server rebuilds in one process, and after a one-article change
    nearly every page is computed from the same objects as last time: the
    same Article objects (cache._DecodedOutcomes hands them out again), in
    equal tuples, with equal settings dataclasses. Comparing those (Python
    compares identical objects without looking inside) costs a fraction of
    fingerprinting and hashing them again: ≈0.5 s of such a rebuild at
    10,000 articles. The result is sound because each key is a function of
    its inputs' values and of the base key, and the memo is emptied when the
    base key (templates, settings, tag names) changes. Inputs are compared by
    value, so they must be immutable, as page contexts are (see _freeze).

    A one-off CLI build fills it for nothing, at ≈0.3 µs an entry."""

    def __init__(self) -> None:
        self.base_key = ""
        self.entries: dict[Hashable, tuple[Any, Any]] = {}

    def recall(self, base_key: str, name: Hashable, inputs: Any, compute: Callable[[], T]) -> T:
        """The value last computed under `name` if its inputs equal `inputs`,
        else compute() (remembered with `inputs`)."""
        if base_key != self.base_key:
            self.base_key, self.entries = base_key, {}
        found = self.entries.get(name)
        if found is not None and _equal(found[0], inputs):
            return cast(T, found[1])
        value = compute()
        self.entries[name] = (inputs, value)
        return value


def _equal(old: Any, new: Any) -> bool:
    try:
        return bool(old == new)
    except Exception:  # a value that cannot be compared is simply not reused
        return False


RESIDENT = ResidentMemo()


class ArticleMemo(Generic[T]):
    """A value made from one article alone, kept for as long as this process
    keeps seeing the article.

    The watch server's next build gets the same Article objects again (see
    ResidentMemo), so values that every build used to make afresh for every
    article (fingerprints for the digests of the big tag groups: ≈70,000 a
    one-article rebuild at 10,000 articles; sitemap entries) are made once.
    Keyed by identity, since hashing an Article hashes all its fields; the
    memo holds each article, so no other object can take its id while its
    value is here. An article's fields never change, nor does `make`, so
    nothing here can go stale; `bound` only limits the memory."""

    def __init__(self, make: Callable[[Article], T]) -> None:
        self._make = make
        self._values: dict[int, T] = {}
        self._held: dict[int, Article] = {}

    def __call__(self, article: Article) -> T:
        found = self._values.get(id(article))
        if found is None:
            found = self._values[id(article)] = self._make(article)
            self._held[id(article)] = article
        return found

    def many(self, articles: Sequence[Article]) -> list[T]:
        """The value of each article, in order (in C when all are known)."""
        try:
            return list(map(self._values.__getitem__, map(id, articles)))
        except KeyError:
            return list(map(self, articles))

    def bound(self, articles: Sequence[Article]) -> None:
        """Forget articles other than these once they could outnumber them
        (edited and deleted ones pile up over a long watch session)."""
        if len(self._values) > 2 * len(articles) + MEMO_LIMIT:
            self._values = {id(a): v for a in articles
                            if (v := self._values.get(id(a))) is not None}
            self._held = {id(a): a for a in articles if id(a) in self._values}

    def forget(self) -> None:
        self._values, self._held = {}, {}


class RunMemo:
    """Per-article values of named runs of articles (a tag's list, a month's),
    from the last build in this process, brought in step with the run.

    A one-article rebuild changes a dozen big runs (the article's tags: up to
    every article of the site each) by one article, and they were read whole
    again: one Article lookup per item is ≈0.5 µs in a big, cold heap. Here
    the common ends of the old and new run are found by comparing pointers,
    and only the values of the articles between them are made. The runs
    held keep their articles alive, so identity means the same article."""

    def __init__(self) -> None:
        self.base_key = ""
        self.runs: dict[Hashable, tuple[Sequence[Article], list[Any]]] = {}

    def values(self, base_key: str, name: Hashable, articles: Sequence[Article],
               make: Callable[[Sequence[Article]], list[T]]) -> list[T]:
        """make(articles), from the last values of the run `name` where its
        articles are the same objects (the list returned is not to be changed)."""
        if base_key != self.base_key or len(self.runs) >= MEMO_LIMIT:
            self.base_key, self.runs = base_key, {}
        found = self.runs.get(name)
        if found is None:
            values = make(articles)
        elif found[0] is articles:
            return found[1]
        else:
            old, old_values = found
            head, tail = common_ends(old, articles)
            values = old_values[:head] + make(articles[head:len(articles) - tail]) + \
                old_values[len(old) - tail:]
        self.runs[name] = (articles, values)
        return values


RUNS = RunMemo()


def _fingerprint(article: Article) -> str:
    """What identifies an article's shown fields: its source bytes (every
    field is parsed from them under settings that are part of the base
    key), its slug and its tags."""
    return f"{article.digest[:20]}|{article.slug}|{'/'.join(article.tags)}"


def _sitemap_entry(article: Article) -> tuple[str, str | None]:
    return urls.article(article.slug), article.published.strftime("%Y-%m-%d")


def _run_token(article: Article) -> bytes:
    """An article's part of the digest of a group that lists it: its
    fingerprint, hashed to 16 bytes. The groups a one-article rebuild digests
    again (the article's tags) list up to every article of the site each,
    and hashing their fingerprints whole (≈110 characters each) was ≈10 MB."""
    return hashlib.blake2b(FINGERPRINTS(article).encode(), digest_size=16).digest()


FINGERPRINTS = ArticleMemo(_fingerprint)
RUN_TOKENS = ArticleMemo(_run_token)
SITEMAP_ENTRIES = ArticleMemo(_sitemap_entry)


def _only_articles(values: Sequence[Any]) -> bool:
    """Every item is an Article (exactly), checked in C: runs of articles
    are long (a big tag's: 9,000)."""
    return bool(values) and set(map(type, values)) == {Article}


def _plain_rows(values: Sequence[Any]) -> bool:
    """Every item is a tuple of values that stand for themselves (see _PLAIN)."""
    return set(map(type, values)) == {tuple} and \
        set(map(type, chain.from_iterable(values))) <= _PLAIN


@dataclass(frozen=True)
class LazyMonths:
    """A page's months of articles and events, grouped only when the page is
    rendered (Renderer.render): its render key needs just the articles and events."""

    articles: tuple[Article, ...]
    events: tuple[Event, ...]
    timezone: str

    def grouped(self, order: ListOrder | None = None) -> list[Any]:
        return interleave(self.articles, self.events, ZoneInfo(self.timezone), order)


def _bytecode_cache(config: Config, base_key: str) -> FileSystemBytecodeCache | None:
    """Compiled templates kept beside the parse cache: compiling them all
    costs more than rendering the few pages an incremental build needs. Jinja
    checks each entry against the template's source, and writes atomically.

    Jinja folds filters with constant arguments into the compiled code
    (`'archive/'|url` is compiled as the finished path), so compiled code
    holds the settings and the site's tag names too: it is kept in a folder
    per base key, and the folders of other keys are removed."""
    if config.cache_dir is None:
        return None
    root = config.cache_dir / "templates"
    folder = root / base_key[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for other in root.iterdir():
            if other != folder:
                shutil.rmtree(other) if other.is_dir() else other.unlink()
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


@dataclass(frozen=True)
class MonthRef:
    year: int
    month: int


# Records of plain values only: their dataclass repr stands for them in a key
# text (see Renderer._flat_key_text).
_PLAIN_RECORDS = frozenset({Pagination, TagInfo, MonthRef, Outlet})


def _month_ref(month: Month) -> MonthRef:
    # A neighbour month is shown by name only; its articles must not enter the key.
    return MonthRef(month.year, month.month)


def _by_count(tag: Mapping[str, Any]) -> tuple[int, str]:
    return -int(tag["count"]), str(tag["slug"])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _site_path(output_path: str) -> str:
    return output_path[: -len("index.html")] if output_path.endswith("index.html") \
        else output_path


def _day(dt: datetime) -> str:
    return f"{dt.year}年{dt.month}月{dt.day}日"


def _full_time(dt: datetime) -> str:
    # Shown once per article page; `{dt:%H:%M}` goes through strftime, and
    # the zone's label is the same for nearly every article.
    return (f"{_day(dt)} 星期{WEEKDAYS[dt.weekday()]} {dt.hour:02d}:{dt.minute:02d}"
            f"（{_zone_label(dt.utcoffset())}）")


@functools.lru_cache(maxsize=64)
def _zone_label(offset: timedelta | None) -> str:
    """"UTC+8", "UTC+5:30", "UTC-3:30" (hours and minutes both of the
    offset's size: flooring a negative offset would say UTC-4:30)."""
    seconds = int(offset.total_seconds()) if offset is not None else 0
    hours, rest = divmod(abs(seconds), 3600)
    sign = "-" if seconds < 0 else "+"
    return f"UTC{sign}{hours}" + (f":{rest // 60:02d}" if rest >= 60 else "")
