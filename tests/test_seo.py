"""seo.article_json_ld writes its JSON text from fragments (it runs for every
article page): it must be exactly script_json of the data it stands for."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from generator import outlets, seo, urls
from generator.models import Article, Outlet
from tests.conftest import site_config

CONFIG = site_config("https://user.github.io/repo/")
HOSTILE = st.one_of(st.text(), st.sampled_from(
    ['"><script>alert(1)</script>', "O'Brien & <Co>", "普京与泽连斯基“会谈”", "",
     "back\\slash\n\t\x00", "\ud800", "美国之音"]))


def article(**changes: object) -> Article:
    url = "https://www.voachinese.com/a/1.html"
    made = Article(uid=url, slug="voa-1", rel_path="1.txt", digest="0" * 64,
                   format="feed-markdown", title="标题", source_url=url, outlet=outlets.VOA,
                   published=datetime(2023, 5, 1, 3, 4, 5, tzinfo=timezone.utc),
                   author=None, lead_image=None, lead_caption=None, summary="摘要",
                   reading_minutes=3, tags=("ukraine",))
    return replace(made, **changes)


@settings(max_examples=300)
@given(title=HOSTILE, summary=HOSTILE, author=st.one_of(st.none(), HOSTILE),
       outlet_name=HOSTILE, lead_image=st.one_of(st.none(), HOSTILE),
       source_url=st.one_of(st.none(), HOSTILE), tag_names=st.lists(HOSTILE, max_size=4),
       site_title=HOSTILE, language=HOSTILE, base_url=st.sampled_from(
           ["https://user.github.io/repo/", "https://example.org/&<x>/"]),
       offset=st.integers(-14, 14))
def test_article_json_ld_is_script_json_of_its_data(
        title: str, summary: str, author: str | None, outlet_name: str,
        lead_image: str | None, source_url: str | None, tag_names: list[str],
        site_title: str, language: str, base_url: str, offset: int) -> None:
    config = replace(CONFIG, title=site_title, language=language)
    link = urls.Urls(base_url)
    made = article(title=title, summary=summary, author=author, lead_image=lead_image,
                   source_url=source_url, outlet=Outlet("voa", outlet_name),
                   published=datetime(2023, 5, 1, 3, 4, 5,
                                      tzinfo=timezone(timedelta(hours=offset))))
    expected = seo.script_json(seo.article_ld(made, config, link, tag_names))
    assert seo.article_json_ld(made, config, link, tag_names) == expected


def test_an_author_who_is_the_outlet_is_not_named_twice() -> None:
    made = article(author=outlets.VOA.name)
    text = seo.article_json_ld(made, CONFIG, urls.Urls(CONFIG.base_url), ["乌克兰"])
    assert '"Person"' not in text
    assert text == seo.script_json(seo.article_ld(made, CONFIG, urls.Urls(CONFIG.base_url),
                                                  ["乌克兰"]))
