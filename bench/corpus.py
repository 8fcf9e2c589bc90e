"""Deterministic synthetic corpus for the benchmark.

`write_corpus(n, root)` writes N articles three times over, from one model:

* ``ours/articles/`` — our real input formats, half each: VOA "feed markdown"
  (even indices) and Al Jazeera "Hexo" (odd indices);
* ``hugo/content/posts/`` — the same articles as Hugo HTML content with YAML
  front matter (tags, outlet, month);
* ``pelican/content/`` — the same articles as Pelican HTML input (meta tags);

plus ``ours-extra/`` holding article number N, the one the "add one article"
rebuild drops into the corpus.

The text is real: sentences are cut at run time from the articles in
content/articles/ (split on 。！？), so entity names (布林肯, 拉夫罗夫, 北约, …)
occur with their natural frequency and tagging does real work. Everything
random comes from `random.Random(f"{SEED}:{index}")`, one generator per
article, so the same N gives byte-identical files, and the corpus for N is a
prefix of the corpus for any larger N.

Command line::

    python -m bench.corpus --n 1000 --out bench/work/corpus-1000   # write, print digest
    python -m bench.corpus --n 1000 --verify                      # write twice, compare
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

PROJECT = Path(__file__).resolve().parent.parent
SOURCE_DIR = PROJECT / "content" / "articles"
SEED = 20220224  # any fixed number; the date the full-scale invasion began
STAMP = "CORPUS.json"

# Publication dates are drawn from this window. It starts at 00:00 UTC, 08:00 in
# Shanghai, and ends at noon UTC, so every date is inside the site's 2022–2024
# scope in the site's own time zone.
START = datetime(2022, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 12, 31, 12, tzinfo=timezone.utc)
SITE_ZONE = ZoneInfo("Asia/Shanghai")

# Body size (UTF-8 bytes of sentence text) per article; markup adds a little.
BODY_MIN_BYTES = 3000
BODY_MAX_BYTES = 7600

# The fixed entity list that Hugo and Pelican tags are derived from (a name is a
# tag of an article when it occurs in its text). Roughly the names our taxonomy
# cares most about; our generator tags with its own content/tags.yaml.
ENTITIES: tuple[str, ...] = (
    "普京", "拉夫罗夫", "佩斯科夫", "绍伊古", "梅德韦杰夫", "泽连斯基", "库列巴", "列兹尼科夫",
    "什米哈尔", "拜登", "布林肯", "奥斯汀", "哈里斯", "特朗普", "拉米", "马克龙", "朔尔茨",
    "斯托尔滕贝格", "埃尔多安", "卢卡申科", "北约", "欧盟", "联合国", "七国集团", "克里姆林宫",
    "五角大楼", "白宫", "基辅", "莫斯科", "华盛顿", "克里米亚", "顿巴斯", "赫尔松", "哈尔科夫",
    "布鲁塞尔", "日内瓦", "伊朗", "白俄罗斯", "制裁", "谈判", "停火", "核武器", "军事援助",
)

# Like our taxonomy's evidence rule: a name is a tag when the title mentions it or
# the body mentions it at least twice; at most this many, the most mentioned first.
TAG_MIN_BODY_MENTIONS = 2
MAX_TAGS = 12

# Names that read well in a headline, with the English word VOA puts in its URLs.
# Actors meet and answer; subjects are what someone speaks about.
ACTORS: dict[str, str] = {
    "普京": "putin", "拉夫罗夫": "lavrov", "佩斯科夫": "peskov", "绍伊古": "shoigu",
    "泽连斯基": "zelenskyy", "库列巴": "kuleba", "拜登": "biden", "布林肯": "blinken",
    "奥斯汀": "austin", "拉米": "lammy", "马克龙": "macron", "朔尔茨": "scholz",
    "斯托尔滕贝格": "stoltenberg", "埃尔多安": "erdogan", "卢卡申科": "lukashenko",
    "北约": "nato", "欧盟": "eu", "联合国": "un", "七国集团": "g7", "克里姆林宫": "kremlin",
    "五角大楼": "pentagon", "白宫": "white-house",
}
SUBJECTS: dict[str, str] = {
    "基辅": "kyiv", "莫斯科": "moscow", "克里米亚": "crimea", "赫尔松": "kherson",
    "伊朗": "iran", "制裁": "sanctions", "谈判": "talks", "停火": "ceasefire",
    "核武器": "nuclear", "军事援助": "military-aid", "北约": "nato",
}
URL_WORDS = ("ukraine", "russia", "war", "talks", "visit", "aid", "meeting", "warns", "says")

# {a}, {c}: actors; {s}: a subject; {clause}: a piece of a real sentence.
TITLE_PATTERNS = (
    "{a}与{c}会晤  {clause}",
    "{a}：{clause}",
    "{a}谈{s}局势  {clause}",
    "{clause}  {a}表态",
    "{a}就{s}问题发声  {clause}",
    "{clause}，{a}与{c}回应",
)
# Share of an article's sentences drawn from its "own" source article; the rest come
# from any source. Keeps each article about one story, so its names cluster as in
# real reporting instead of every article naming everyone.
PRIMARY_SHARE = 0.8
SUBHEADS = ("加强军事存在", "新的会晤", "远程会议", "紧张局势升级", "外交努力", "制裁措施",
            "战场形势", "各方反应", "安全保障", "能源问题")
OUTLET_NAMES = {"voa": "美国之音", "aljazeera": "Aljazeera 半岛网"}
VOA_FOOTER = ('<br><hr><div>获取更多RSS：<br><a href="https://feedx.net" style="color:orange" '
              'target="_blank">https://feedx.net</a> <br><a href="https://feedx.fun" '
              'style="color:orange" target="_blank">https://feedx.fun</a><br></div>')

_TAG = re.compile(r"<[^>]*>")
_FRONT_MATTER = re.compile(r"\A\s*---\n.*?\n---\n", re.DOTALL)
# A sentence ends at 。！？ (a run of them), optionally followed by a closing quote.
_SENTENCE = re.compile(r"[^。！？]*[。！？]+[”」』]?")
_TITLE_UNSAFE = re.compile(r"[\[\]()（）“”\"'「」<>]|[A-Za-z]+")  # and English glosses
_KEY_STRIP = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class SyntheticArticle:
    """One article, independent of any output format."""

    index: int
    outlet: str  # "voa" or "aljazeera"
    title: str
    published: datetime  # UTC
    archived: datetime  # when the (imaginary) RSS archiver fetched it
    paragraphs: tuple[str, ...]  # plain text, one entry per paragraph
    subheads: tuple[tuple[int, str], ...]  # (paragraph index, heading) for Hexo bodies
    image: str
    caption: str
    url: str | None  # VOA only: Al Jazeera Hexo files carry no link
    slug: str  # Hugo / Pelican URL slug
    footer: bool  # VOA: ends with the archiver's footer
    tags: tuple[str, ...]  # ENTITIES found in the text, in ENTITIES order

    @property
    def month(self) -> str:
        return self.published.astimezone(SITE_ZONE).strftime("%Y-%m")


@dataclass(frozen=True)
class CorpusPaths:
    root: Path
    ours: Path  # --content for our generator
    extra: Path  # the file the add-one rebuild copies into `ours`
    hugo_site: Path  # hugo -s
    pelican_content: Path


# -- sentences ------------------------------------------------------------------------
Pools = tuple[tuple[str, ...], ...]  # the sentences of each source article


def extract_sentences(source_dir: Path = SOURCE_DIR) -> Pools:
    """The distinct sentences of each real article, in file then text order."""
    seen: set[str] = set()
    pools: list[tuple[str, ...]] = []
    for path in sorted(p for p in source_dir.iterdir() if p.is_file()):
        pool = []
        for sentence in _sentences_of(path.read_text(encoding="utf-8")):
            if sentence not in seen:
                seen.add(sentence)
                pool.append(sentence)
        if pool:
            pools.append(tuple(pool))
    if len(seen) < 20:
        raise RuntimeError(f"only {len(seen)} sentences found in {source_dir}; the corpus "
                           "generator needs the real articles in content/articles/")
    return tuple(pools)


def _sentences_of(text: str) -> Iterator[str]:
    body = _FRONT_MATTER.sub("", text)
    if "\n------\n" in body:  # feed markdown: skip the epoch comment and title line
        body = body.split("\n------\n", 1)[1]
    # Tags become line breaks so that paragraphs never glue into one sentence.
    plain = html.unescape(_TAG.sub("\n", body))
    for line in plain.splitlines():
        for match in _SENTENCE.finditer(line):
            sentence = match.group(0).strip()
            if _usable(sentence):
                yield sentence


def _usable(sentence: str) -> bool:
    # The archiver's footer and bracketed links are not prose.
    return len(sentence) >= 10 and "http" not in sentence and "RSS" not in sentence \
        and "[" not in sentence and "]" not in sentence


# -- the article model ----------------------------------------------------------------
def make_article(index: int, pools: Pools, used_titles: set[str]) -> SyntheticArticle:
    """Article number `index`; `used_titles` (title keys) is read and updated so
    that every title is unique within the corpus."""
    rng = random.Random(f"{SEED}:{index}")
    outlet = "voa" if index % 2 == 0 else "aljazeera"
    published = START + timedelta(seconds=rng.randrange(int((END - START).total_seconds())))
    archived = published + timedelta(seconds=rng.randrange(60, 6 * 3600))
    primary = rng.choice(pools)
    everything = [s for pool in pools for s in pool]

    def pick() -> str:
        return rng.choice(primary if rng.random() < PRIMARY_SHARE else everything)

    paragraphs = _paragraphs(rng, pick)
    body_text = "".join(paragraphs)
    title = _unique_title(_title(rng, pick(), body_text), used_titles)
    caption = _caption(rng, pick(), published)
    image, url, slug = _links(rng, index, outlet, title, published)
    subheads = tuple((i, rng.choice(SUBHEADS)) for i in range(3, len(paragraphs), 4))
    body = "\n".join((caption, body_text, *(h for _, h in subheads)))
    return SyntheticArticle(index, outlet, title, published, archived, paragraphs, subheads,
                            image, caption, url, slug, rng.random() < 0.5, tags_for(title, body))


def make_articles(n: int, pools: Pools) -> Iterator[SyntheticArticle]:
    """Articles 0..n-1, in order (titles are made unique in that order)."""
    used: set[str] = set()
    for index in range(n):
        yield make_article(index, pools, used)


def tags_for(title: str, body: str) -> tuple[str, ...]:
    """ENTITIES named in the title or at least twice in the body; the MAX_TAGS most
    mentioned, listed in ENTITIES order."""
    counts = {e: 3 * title.count(e) + body.count(e) for e in ENTITIES}
    qualified = [e for e in ENTITIES if e in title or body.count(e) >= TAG_MIN_BODY_MENTIONS]
    kept = set(sorted(qualified, key=lambda e: -counts[e])[:MAX_TAGS])
    return tuple(e for e in ENTITIES if e in kept)


def _paragraphs(rng: random.Random, pick: Callable[[], str]) -> tuple[str, ...]:
    target = rng.randint(BODY_MIN_BYTES, BODY_MAX_BYTES)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        paragraph = "".join(pick() for _ in range(rng.randint(1, 4)))
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8"))
    return tuple(paragraphs)


def _title(rng: random.Random, sentence: str, body_text: str) -> str:
    """One of TITLE_PATTERNS filled with 1–2 names, preferring names the body
    really mentions so that the headline matches the story."""
    actors = [e for e in ACTORS if e in body_text] or list(ACTORS)
    subjects = [e for e in SUBJECTS if e in body_text] or list(SUBJECTS)
    a = rng.choice(actors)
    c = rng.choice([e for e in actors if e != a] or [e for e in ACTORS if e != a])
    s = rng.choice([e for e in subjects if e != a] or [e for e in SUBJECTS if e != a])
    return rng.choice(TITLE_PATTERNS).format(a=a, c=c, s=s, clause=_clause(rng, sentence))


def _clause(rng: random.Random, sentence: str) -> str:
    """A headline-sized piece of a sentence: one of its comma-separated parts (any
    of them, for variety), at most 20 characters."""
    clean = re.sub(r"\s+", " ", _TITLE_UNSAFE.sub("", sentence)).rstrip("。！？”」 ")
    parts = [p.strip() for p in re.split(r"[，：；、]", clean) if len(p.strip()) >= 6]
    piece = rng.choice(parts) if parts else clean
    return piece[:20].strip()


def _unique_title(title: str, used: set[str]) -> str:
    # Our generator treats same outlet + title + day as a duplicate, comparing titles
    # with punctuation and spaces removed, so uniqueness is checked on that key.
    candidate, number = title, 1
    while _title_key(candidate) in used:
        number += 1
        candidate = f"{title}（之{number}）"
    used.add(_title_key(candidate))
    return candidate


def _title_key(title: str) -> str:
    return _KEY_STRIP.sub("", title).lower()


def _caption(rng: random.Random, sentence: str, published: datetime) -> str:
    day = published.astimezone(SITE_ZONE)
    return f"{_clause(rng, sentence)}。（{day.year}年{day.month}月{day.day}日）"


def _links(rng: random.Random, index: int, outlet: str, title: str,
           published: datetime) -> tuple[str, str | None, str]:
    """(lead image, original URL, Hugo/Pelican slug) in each outlet's real URL shapes."""
    if outlet == "voa":
        # Disjoint ranges per index keep the numeric ids unique but not sequential.
        article_id = 6_000_000 + index * 37 + rng.randrange(37)
        words = [w for e, w in {**ACTORS, **SUBJECTS}.items() if e in title][:2]
        words += rng.sample(URL_WORDS, 2)
        url = (f"https://www.voachinese.com/a/{'-'.join(words)}-"
               f"{published:%Y%m%d}/{article_id}.html")
        image = (f"https://images.weserv.nl?url=gdb.voanews.com/"
                 f"{uuid.UUID(int=rng.getrandbits(128))}_r1_s_w900.jpg")
        return image, url, f"voa-{article_id}"
    image = (f"https://chinese.aljazeera.net/wp-content/uploads/{published:%Y/%m}/"
             f"image-{rng.randrange(1, 99)}-{rng.randrange(1, 99)}.jpg?w=770&resize=770%2C433")
    return image, None, f"aljazeera-{index:06d}"


# -- our input formats ----------------------------------------------------------------
def render_ours(article: SyntheticArticle) -> str:
    return _render_feed(article) if article.outlet == "voa" else _render_hexo(article)


def ours_filename(article: SyntheticArticle, text: str) -> str:
    """Like the archiver's names: a running number and a content hash."""
    return f"{article.index:06d}_{hashlib.sha256(text.encode()).hexdigest()[:16]}.txt"


def _render_feed(article: SyntheticArticle) -> str:
    epoch_ms = int(article.archived.timestamp()) * 1000
    body = "".join(f"<p>{'<br /><br />'.join(html.escape(p, quote=False) for p in group)}</p>"
                   for group in _groups(article.paragraphs, 3))
    footer = VOA_FOOTER if article.footer else ""
    return (f"<!--{epoch_ms}-->\n[{article.title}]({article.url})\n------\n\n"
            f"<div><i>{format_datetime(article.published, usegmt=True)}</i></div>"
            f'<img src="{article.image}" width="100%"><div><small style="color: #999;">'
            f"{html.escape(article.caption, quote=False)}</small></div>{body}{footer}\n")


def _render_hexo(article: SyntheticArticle) -> str:
    title = article.title.replace("'", "''")  # YAML single-quoted scalar
    return (f"\n---\ntitle: '{title}'\ncategories: \n - 新媒体\n - Aljazeera 半岛网\n - 新闻\n"
            f"headimg: '{article.image}'\nauthor: Aljazeera 半岛网\ncomments: false\n"
            f"date: {format_datetime(article.published, usegmt=True)}\n"
            f"thumbnail: '{article.image}'\n---\n\n<div>   \n"
            f"{_hexo_paragraphs(article)}\n  \n</div>\n            \n")


def _hexo_paragraphs(article: SyntheticArticle) -> str:
    heads = dict(article.subheads)
    lines = []
    for i, paragraph in enumerate(article.paragraphs):
        if i in heads:
            lines.append(f"<h3>{heads[i]}</h3>")
        lines.append(f"<p>{html.escape(paragraph, quote=False)}</p>")
        if i == 1:  # Al Jazeera repeats the lead image inside the body
            lines.append(f'<p><img loading="lazy" class="aligncenter size-arc-image-770" '
                         f'src="{article.image}" alt data-recalc-dims="1" '
                         f'referrerpolicy="no-referrer"></p>')
    return "\n".join(lines)


def _groups(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- Hugo and Pelican ----------------------------------------------------------------
def _plain_body_html(article: SyntheticArticle) -> str:
    """The body both other generators publish: figure + paragraphs + subheads."""
    heads = dict(article.subheads)
    parts = [f'<figure><img src="{html.escape(article.image)}" loading="lazy">'
             f"<figcaption>{html.escape(article.caption)}</figcaption></figure>"]
    for i, paragraph in enumerate(article.paragraphs):
        if i in heads:
            parts.append(f"<h3>{heads[i]}</h3>")
        parts.append(f"<p>{html.escape(paragraph, quote=False)}</p>")
    return "\n".join(parts)


def render_hugo(article: SyntheticArticle) -> str:
    # JSON is valid YAML and escapes whatever the title holds.
    front = {
        "title": article.title,
        # In the site's zone, so that Hugo's month grouping matches ours.
        "date": article.published.astimezone(SITE_ZONE).isoformat(),
        "slug": article.slug,
        "tags": list(article.tags),
        "outlets": [OUTLET_NAMES[article.outlet]],
        "months": [article.month],
        "source": article.url or "",
    }
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in front.items()]
    return "---\n" + "\n".join(lines) + "\n---\n" + _plain_body_html(article) + "\n"


def render_pelican(article: SyntheticArticle) -> str:
    meta = {
        "date": article.published.astimezone(SITE_ZONE).isoformat(),
        "slug": article.slug,
        "tags": ", ".join(article.tags),
        "category": OUTLET_NAMES[article.outlet],
    }
    metas = "\n".join(f'<meta name="{k}" content="{html.escape(v)}">' for k, v in meta.items())
    return (f"<html>\n<head>\n<title>{html.escape(article.title)}</title>\n{metas}\n</head>\n"
            f"<body>\n{_plain_body_html(article)}\n</body>\n</html>\n")


# -- writing --------------------------------------------------------------------------
def corpus_paths(root: Path) -> CorpusPaths:
    return CorpusPaths(root, root / "ours" / "articles", root / "ours-extra",
                       root / "hugo", root / "pelican" / "content")


def fingerprint(n: int) -> str:
    """Changes when anything that shapes the corpus changes: N, this file, the sources."""
    digest = hashlib.sha256(f"n={n}\n".encode())
    digest.update(Path(__file__).read_bytes())
    for path in sorted(p for p in SOURCE_DIR.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def is_current(root: Path, n: int) -> bool:
    """True when `root` holds a complete corpus for N made by this very code."""
    try:
        stamp = json.loads((root / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp.get("n") == n and stamp.get("fingerprint") == fingerprint(n)


def write_corpus(n: int, root: Path) -> CorpusPaths:
    """(Re)write the corpus for N under `root`; the stamp is written last, so an
    interrupted run is never mistaken for a complete corpus."""
    if root.exists():
        shutil.rmtree(root)
    paths = corpus_paths(root)
    for folder in (paths.ours, paths.extra, paths.hugo_site / "content" / "posts",
                   paths.pelican_content):
        folder.mkdir(parents=True)
    pools = extract_sentences()
    used: set[str] = set()
    for index in range(n + 1):  # article N is the extra one
        article = make_article(index, pools, used)
        text = render_ours(article)
        if index == n:
            _write(paths.extra / ours_filename(article, text), text)
            break
        _write(paths.ours / ours_filename(article, text), text)
        _write(paths.hugo_site / "content" / "posts" / f"{article.slug}.html",
               render_hugo(article))
        _write(paths.pelican_content / f"{article.slug}.html", render_pelican(article))
    stamp = {"n": n, "fingerprint": fingerprint(n), "seed": SEED,
             "sentences": sum(len(pool) for pool in pools), "digest": tree_digest(root)}
    (root / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return paths


def ensure_corpus(n: int, root: Path) -> CorpusPaths:
    """The corpus for N, regenerated only when missing or out of date."""
    return corpus_paths(root) if is_current(root, n) else write_corpus(n, root)


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))  # bytes: no platform newline translation


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes (the stamp excluded)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != STAMP):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def verify_deterministic(n: int) -> tuple[str, str]:
    """Write the corpus twice into fresh folders; return both digests."""
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        first = tree_digest(write_corpus(n, Path(tmp) / "a").root)
        second = tree_digest(write_corpus(n, Path(tmp) / "b").root)
    return first, second


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="number of articles")
    parser.add_argument("--out", type=Path, help="folder to (re)write")
    parser.add_argument("--verify", action="store_true",
                        help="generate twice in temporary folders and compare digests")
    args = parser.parse_args(argv)
    if args.verify:
        first, second = verify_deterministic(args.n)
        print(f"n={args.n} first={first} second={second}")
        print("deterministic: yes" if first == second else "deterministic: NO")
        return 0 if first == second else 1
    if args.out is None:
        parser.error("--out or --verify is required")
    paths = write_corpus(args.n, args.out)
    print(f"n={args.n} digest={tree_digest(paths.root)} root={paths.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
