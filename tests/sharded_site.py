"""A small site that gets several search shards: the real articles, plain
synthetic VOA reports, and one RFI report that is the only one holding a
rare word, the only one from its outlet and the only one with its tag, placed
so that it falls in a shard other than shard 0.

The shard size is monkeypatched (generator.search.SHARD_ARTICLES) so that a
few dozen articles make 2–3 shards, as thousands do on a real archive."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from generator import outlets, search
from generator.normalize import article_slug, article_uid
from tests.conftest import ROOT

SHARD_SIZE = 10  # articles per shard in these tests
RARE_WORD = "鸭嘴兽"  # in the lone RFI report's body only
LONE_TAG = "sybiha"  # its name (西比加) is in the lone report's title only
LONE_TAG_NAME = "西比加"
FILLER_FIRST_ID = 9_100_000


def filler_article(index: int) -> tuple[str, bytes]:
    """A plain VOA feed-markdown report (rel path, bytes), slug voa-<id>."""
    vid = FILLER_FIRST_ID + index
    when = datetime(2022, 3, 1, tzinfo=timezone.utc) + timedelta(days=index * 7, hours=index)
    title = f"乌克兰与俄罗斯代表第{index}轮会谈"
    body = (f"<p>乌克兰和俄罗斯的代表举行第{index}轮会谈，讨论人道主义走廊和停火安排。</p>"
            "<p>双方同意继续保持联系。</p>")
    text = (f"<!--{int(when.timestamp() * 1000)}-->\n[{title}]"
            f"(https://www.voachinese.com/a/shard-test/{vid}.html)\n------\n\n"
            f"<div><i>{format_datetime(when, usegmt=True)}</i></div>{body}\n")
    return f"fillers/{vid}.txt", text.encode("utf-8")


def filler_slug(index: int) -> str:
    return f"voa-{FILLER_FIRST_ID + index}"


def _rfi_url(number: int) -> str:
    return f"https://www.rfi.fr/cn/国际/20220906-shard-test-{number}"


def rfi_slug(url: str) -> str:
    when = datetime(2022, 9, 6, 9, 30, tzinfo=timezone.utc)
    return article_slug(article_uid(url, outlets.RFI, "", when, ZoneInfo("Asia/Shanghai")),
                        url, outlets.RFI)


def lone_rfi_article(shards: int) -> tuple[str, bytes, str]:
    """The RFI report (rel path, bytes, slug), its URL chosen so that its slug
    is not in shard 0 when the site has `shards` shards."""
    url = next(u for u in map(_rfi_url, range(100))
               if search.shard_of(rfi_slug(u), shards) != 0)
    title = f"乌克兰新任外长{LONE_TAG_NAME}与俄罗斯问题"
    text = (f"---\nlayout: post\ntitle: \"{title}\"\ndate: 2022-09-06T10:00:00.000Z\n"
            f"author: 法广\nfrom: {url}\ntags: [ 法广 ]\ncategories: [ 法广 ]\n---\n"
            f"<!--1662458400000-->\n[{title}]({url})\n------\n\n<div>\n"
            "<div>06/09/2022 - 11:30</div>"
            f"<p>乌克兰外交部长谈到俄罗斯，并用{RARE_WORD}打了一个比方。</p>"
            "<p>他说谈判的大门仍然敞开。</p>\n</div>\n")
    return "rfi/lone.md", text.encode("utf-8"), rfi_slug(url)


def write_sharded_content(folder: Path, fillers: int, shards: int) -> str:
    """The real articles, `fillers` synthetic ones and the lone RFI report
    (placed for `shards` shards); returns the RFI report's slug."""
    shutil.copytree(ROOT / "content" / "articles", folder)
    for index in range(fillers):
        rel, data = filler_article(index)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    rel, data, slug = lone_rfi_article(shards)
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes(data)
    return slug


def indexed_urls(index_folder: Path) -> list[str]:
    """The page URLs in one built Pagefind index (its fragments are gzipped
    JSON after a signature)."""
    urls = []
    for path in sorted((index_folder / "fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(path.read_bytes())
        urls.append(json.loads(raw[raw.index(b"{"):])["url"])
    return urls


def shard_folders(site: Path) -> list[str]:
    """The shard folders the site's search page merges (pagefind/shards.json)."""
    listed = json.loads((site / "pagefind" / search.SHARDS_FILE).read_text(encoding="utf-8"))
    return [str(folder) for folder in listed["indexes"]]
