"""Search over a sharded index, in Chromium, on a site served under /repo/:
results and filter counts come from every shard (Pagefind's mergeIndex)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from generator import search
from generator.pipeline import BuildOptions, build
from generator.serve import make_server
from tests.browser.conftest import SUB_PATH, Site, _free_port
from tests.chromium import serving
from tests.conftest import ROOT, site_config
from tests.sharded_site import LONE_TAG, LONE_TAG_NAME, RARE_WORD, SHARD_SIZE, indexed_urls, \
    shard_folders, write_sharded_content

SHARDS = 3


class ShardedSite(Site):
    def __init__(self, output: Path, base_url: str, lone_slug: str,
                 outlets: Counter[str]) -> None:
        super().__init__(output, base_url)
        self.lone_slug = lone_slug
        self.outlets = outlets  # outlet name → published articles


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShardedSite]:
    root = tmp_path_factory.mktemp("sharded-site")
    lone = write_sharded_content(root / "content", fillers=24, shards=SHARDS)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}{SUB_PATH}"
    config = replace(site_config(base_url), cache_dir=root / ".cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_ARTICLES", SHARD_SIZE)
        report = build(BuildOptions(root / "content", root / "public", ROOT, config, workers=1))
    output = (root / "public").resolve()
    assert not report.errors and len(shard_folders(output)) == SHARDS
    # The lone report is indexed in a shard other than pagefind/, with its tag.
    holder = [f for f in shard_folders(output) if f"/articles/{lone}/" in indexed_urls(output / f)]
    assert holder and holder != ["pagefind/"]
    tagged = [a.slug for a in report.articles if LONE_TAG in a.tags]
    assert tagged == [lone]
    outlets = Counter(a.outlet.name for a in report.articles)
    with serving(make_server(output, config, "127.0.0.1", port)):
        yield ShardedSite(output, base_url, lone, outlets)


def _links(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#search-results .result-title a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")


def test_a_word_only_in_another_shard_is_found_under_the_sub_path(
        sharded: ShardedSite, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(sharded.url(f"search/?q={RARE_WORD}"))
    page.wait_for_selector("#search-results .result")
    assert _links(page) == [f"{SUB_PATH}articles/{sharded.lone_slug}/"]
    # Highlighted, as segmented by Pagefind (鸭嘴 + 兽).
    assert page.locator("#search-results mark").first.inner_text() in RARE_WORD
    page.locator("#search-results .result-title a").first.click()
    page.wait_for_url(re.compile(rf".*{SUB_PATH}articles/{sharded.lone_slug}/$"))
    assert RARE_WORD in page.locator(".body").inner_text()


def test_filter_counts_cover_every_shard(sharded: ShardedSite, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(sharded.url("search/"))
    page.wait_for_selector("#search-form[data-ready=yes]")
    shown = {label.split(" (")[0].strip(): label for label in
             page.locator(".sf-outlets label").all_inner_texts()}
    # Every outlet with its count summed over the shards; 法广 is in one shard only.
    assert set(shown) == set(sharded.outlets)
    for name, count in sharded.outlets.items():
        assert shown[name].endswith(f"({count})"), shown[name]
    assert sharded.outlets["法广"] == 1 and sharded.outlets["美国之音"] > 10
    tags = page.locator("#sf-tag option").all_inner_texts()
    assert f"{LONE_TAG_NAME}（1）" in tags
    # Filtering by the one-shard outlet finds that shard's report.
    page.locator('#search-form input[name=outlet][value="法广"]').check()
    page.wait_for_function("location.search.includes('outlet=')")
    page.wait_for_selector("#search-results .result")
    assert _links(page) == [f"{SUB_PATH}articles/{sharded.lone_slug}/"]
