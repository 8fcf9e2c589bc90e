"""Structured data for search engines and link previews.

JSON-LD is built here rather than in a template so that every string is
escaped by json.dumps and "</script>" can never end the element early.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

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
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def article_json_ld(article: Article, config: Config, link: urls.Urls,
                    tag_names: Sequence[str]) -> str:
    """A schema.org NewsArticle for an article page; the outlet's original
    report is `isBasedOn`."""
    page = link.absolute(urls.article(article.slug))
    published = article.published.isoformat().replace("+00:00", "Z")
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
    return script_json(data)


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
