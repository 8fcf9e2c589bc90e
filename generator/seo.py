"""Structured data for search engines and link previews.

JSON-LD is built here rather than in a template so that every string is
escaped by the json module's encoder and "</script>" can never end the
element early.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Sequence

from generator import urls
from generator.config import Config
from generator.models import Article

# How og:locale names the site's language.
OG_LOCALES = {"zh-Hans": "zh_CN", "zh-CN": "zh_CN", "zh-Hant": "zh_TW", "zh-TW": "zh_TW",
              "zh-HK": "zh_HK", "zh": "zh_CN", "en": "en_US"}


def og_locale(language: str) -> str:
    return OG_LOCALES.get(language, language.replace("-", "_"))


def script_json(value: Any) -> str:
    """JSON safe to place inside <script type="application/ld+json">."""
    return _script_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _script_safe(text: str) -> str:
    """JSON text that cannot end its <script> element early.

    Each character is looked for before it is replaced: `in` finds a
    character with memchr, while str.replace first counts it one character
    at a time, and a page's JSON-LD (≈1,100 characters, most of them CJK)
    rarely holds any of the three (≈18,000 instructions a page, now ≈2,000)."""
    if "<" in text:
        text = text.replace("<", "\\u003c")
    if ">" in text:
        text = text.replace(">", "\\u003e")
    if "&" in text:
        text = text.replace("&", "\\u0026")
    return text


def article_json_ld(article: Article, config: Config, link: urls.Urls,
                    tag_names: Sequence[str]) -> str:
    """A schema.org NewsArticle for an article page; the outlet's original
    report is `isBasedOn`. The same text as script_json(article_ld(…)).

    Every article page has one, and script_json of the dict spent half its
    time encoding what every page shares: the keys, and the site's and the
    outlet's objects (≈15 % of rendering an article page). Here those are
    encoded once and only the article's own strings on each page. Keep the
    two in step: tests/test_seo.py checks they give the same text."""
    page = _json_str(link.absolute(urls.article(article.slug)))
    published = _json_str(_published(article))
    headline = _json_str(article.title)
    outlet = _organisation(article.outlet.name)
    author = (f'{{"@type":"Person","name":{_json_str(article.author)}}}'
              if article.author and article.author != article.outlet.name else outlet)
    parts = [
        f'{{"@context":"https://schema.org","@type":"NewsArticle","headline":{headline},'
        f'"description":{_json_str(article.summary)},"datePublished":{published},'
        f'"dateModified":{published},"inLanguage":{_json_str(config.language)},"url":{page},'
        f'"mainEntityOfPage":{{"@type":"WebPage","@id":{page}}},"author":{author},'
        f'"publisher":{outlet},"isPartOf":{_website(config.title, link.absolute(""))}']
    if article.lead_image:
        parts.append(f',"image":[{_json_str(article.lead_image)}]')
    if tag_names:
        parts.append(f',"keywords":[{",".join(map(_json_str, tag_names))}]')
    if article.source_url:
        parts.append(f',"isBasedOn":{{"@type":"NewsArticle",'
                     f'"url":{_json_str(article.source_url)},"headline":{headline},'
                     f'"publisher":{outlet}}}')
    parts.append("}")
    return _script_safe("".join(parts))


def article_ld(article: Article, config: Config, link: urls.Urls,
               tag_names: Sequence[str]) -> dict[str, Any]:
    """The data article_json_ld writes, as a dict (what it must equal)."""
    page = link.absolute(urls.article(article.slug))
    published = _published(article)
    outlet = {"@type": "NewsMediaOrganization", "name": article.outlet.name}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.summary,
        "datePublished": published,
        "dateModified": published,
        "inLanguage": config.language,
        "url": page,
        "mainEntityOfPage": {"@type": "WebPage", "@id": page},
        "author": ({"@type": "Person", "name": article.author}
                   if article.author and article.author != article.outlet.name else outlet),
        "publisher": outlet,
        "isPartOf": {"@type": "WebSite", "name": config.title, "url": link.absolute("")},
    }
    if article.lead_image:
        data["image"] = [article.lead_image]
    if tag_names:
        data["keywords"] = list(tag_names)
    if article.source_url:
        data["isBasedOn"] = {"@type": "NewsArticle", "url": article.source_url,
                             "headline": article.title, "publisher": outlet}
    return data


def _published(article: Article) -> str:
    return article.published.isoformat().replace("+00:00", "Z")


# A string as JSON text, as json.dumps(…, ensure_ascii=False) writes it.
_json_str: Callable[[str], str] = json.encoder.encode_basestring


@functools.lru_cache(maxsize=256)
def _organisation(name: str) -> str:
    """An outlet as JSON text (the same on every article page of the outlet)."""
    return f'{{"@type":"NewsMediaOrganization","name":{_json_str(name)}}}'


@functools.lru_cache(maxsize=16)
def _website(title: str, url: str) -> str:
    """The site as JSON text (the same on every article page)."""
    return f'{{"@type":"WebSite","name":{_json_str(title)},"url":{_json_str(url)}}}'


def site_json_ld(config: Config, link: urls.Urls) -> str:
    """The home page's WebSite, with the search page as its SearchAction."""
    return script_json({
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": config.title,
        "description": config.description,
        "inLanguage": config.language,
        "url": link.absolute(""),
        "potentialAction": {"@type": "SearchAction",
                            "target": link.absolute("search/") + "?q={query}",
                            "query-input": "required name=query"},
    })
