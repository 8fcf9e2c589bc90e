"""Tests for generator/tagging.py and the curated content/tags.yaml."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from typing import Any

import ahocorasick_rs
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import tagging
from generator.tagging import (
    KINDS,
    TagDef,
    TaggingRules,
    Taxonomy,
    TaxonomyError,
    build_taxonomy,
    load_taxonomy,
    normalise,
)

ROOT = Path(__file__).resolve().parent.parent
TAGS_YAML = ROOT / "content" / "tags.yaml"
ARTICLES = ROOT / "content" / "articles"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tagging"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def real() -> Taxonomy:
    taxonomy, errors = load_taxonomy(TAGS_YAML)
    assert errors == []
    return taxonomy


def tag_def(slug: str, *aliases: str, kind: str = "topic", exclude: tuple[str, ...] = ()) -> TagDef:
    """A TagDef whose display name is its first alias (English name = slug)."""
    return TagDef(slug=slug, name=aliases[0], en=slug, kind=kind, aliases=aliases[1:], exclude=exclude)


def small(*tags: TagDef, **rules: int | bool) -> Taxonomy:
    return build_taxonomy(tags, TaggingRules(**rules))  # type: ignore[arg-type]


def read_article(path: Path) -> tuple[str, str]:
    """(title, plain body) of a scraped article: Hexo front matter or VOA feed markdown."""
    raw = path.read_text(encoding="utf-8")
    front = re.search(r"^---\s*$(.*?)^---\s*$(.*)", raw, re.S | re.M)
    if front:
        title_match = re.search(r"^title:\s*'(.*)'\s*$", front.group(1), re.M)
        body = front.group(2)
    else:
        title_match = re.search(r"^\[(.*?)\]\(", raw, re.M)
        body = raw.split("------", 1)[1]
    assert title_match, path
    return title_match.group(1), html.unescape(re.sub(r"<[^>]+>", " ", body))


# --------------------------------------------------------------------------- alias folding


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("泽连斯基", "zelensky"),
        ("澤連斯基", "zelensky"),
        ("澤倫斯基", "zelensky"),
        ("弗拉基米尔·泽连斯基", "zelensky"),
        ("弗拉基米尔・泽连斯基", "zelensky"),  # katakana middle dot
        ("弗拉基米尔‧泽连斯基", "zelensky"),  # hyphenation point
        ("Zelenskyy", "zelensky"),
        ("ZELENSKIY", "zelensky"),
        ("Ｚｅｌｅｎｓｋｙ", "zelensky"),  # full-width
        ("斯托尔滕贝格", "stoltenberg"),
        ("斯托尔腾贝格", "stoltenberg"),
        ("斯托爾滕貝格", "stoltenberg"),
        ("史托騰柏格", "stoltenberg"),
        ("科比", "kirby"),
        ("柯比", "kirby"),
        ("约翰·科比", "kirby"),
        ("John Kirby", "kirby"),
        ("奥斯汀", "austin"),
        ("奧斯汀", "austin"),
        ("劳埃德•奥斯汀", "austin"),  # bullet as a dot
        ("绍伊古", "shoigu"),
        ("紹伊古", "shoigu"),
        ("Shoygu", "shoigu"),
        ("安东尼·布林肯", "blinken"),
        ("Antony Blinken", "blinken"),
        ("蒲亭", "putin"),
        ("普丁", "putin"),
        ("賀錦麗", "harris"),
        ("北約", "nato"),
        ("北大西洋公约组织", "nato"),
        ("七个主要工业化国家", "g7"),
        ("G7", "g7"),
        ("馬立波", "mariupol"),
    ],
)
def test_every_variant_lands_on_one_tag(real: Taxonomy, text: str, slug: str) -> None:
    assert real.mentions(f"据报道，{text}表示") == {slug: 1}
    assert real.tag(f"{text}发表讲话", "") == (slug,)


def test_name_with_its_own_gloss_counts_once(real: Taxonomy) -> None:
    assert real.mentions("美国国务卿安东尼·布林肯 (Antony Blinken) 说") == {"united-states": 1, "blinken": 1}
    assert real.mentions("普京（Vladimir Putin）说") == {"putin": 1}
    # Two separate mentions still count twice.
    assert real.mentions("布林肯说，Blinken said")["blinken"] == 2
    assert real.mentions("拜登拜登 拜登")["biden"] == 3


def test_english_aliases_need_word_boundaries(real: Taxonomy) -> None:
    assert real.mentions("UNESCO and Putinism and Kievan") == {}
    assert real.mentions("SUN, FUN, antiputin, 3G7") == {}  # left boundary
    assert real.mentions("the UN said, then Putin.") == {"un": 1, "putin": 1}
    assert real.mentions("G77集团") == {}


# --------------------------------------------------------------------------- negative cases


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("联合国人权事务高级专员米歇尔·巴切莱特表示", "michel"),
        ("米歇尔·巴尼耶出任法国总理", "michel"),
        ("球员拉米雷斯进球", "lammy"),
        ("他在伊斯兰堡会见萨拉米", "lammy"),
        ("德州奥斯汀举行音乐节", "austin"),
        ("科比·布莱恩特的球衣", "kirby"),
        ("告诉美国之音", "united-states"),
        ("白俄罗斯总统", "russia"),
        ("违反日内瓦公约", "geneva"),
        ("举行远程会议", "long-range-weapons"),
        ("黑海粮食倡议到期", "black-sea"),
        ("今日本周天气", "japan"),
        ("当局公布查询结果", "bucha"),
        ("美国国防部长奥斯汀", "pentagon"),
        ("双方划定停火线", "ceasefire"),
        ("海军驱逐舰", "diplomat-expulsions"),
    ],
)
def test_no_tag_inside_a_longer_word(real: Taxonomy, text: str, absent: str) -> None:
    assert absent not in real.mentions(text)
    assert absent not in real.tag(text, text + text)


def test_the_longer_phrase_wins_where_it_should(real: Taxonomy) -> None:
    assert real.mentions("白俄罗斯总统") == {"belarus": 1}
    assert real.mentions("黑海粮食倡议到期") == {"grain-deal": 1}
    assert real.mentions("明斯克协议") == {"minsk-agreements": 1}
    assert real.mentions("联合国安理会") == {"un-security-council": 1}
    assert real.mentions("美国国防部长奥斯汀") == {"austin": 1}
    assert real.mentions("基辅罗斯") == {"kyiv": 1}


def test_exclusion_blocks_its_alias_and_counts_for_nobody() -> None:
    taxonomy = small(
        tag_def("michel", "米歇尔", kind="person", exclude=("米歇尔·巴切莱特",)),
        tag_def("bachelet", "巴切莱特", kind="person"),
    )
    # The exclusion covers both "米歇尔" and the other tag's "巴切莱特".
    assert taxonomy.mentions("米歇尔·巴切莱特说") == {}
    assert taxonomy.mentions("米歇尔与巴切莱特会面") == {"michel": 1, "bachelet": 1}


def test_longer_alias_of_another_tag_suppresses_the_shorter() -> None:
    taxonomy = small(tag_def("russia", "俄罗斯", kind="country"), tag_def("belarus", "白俄罗斯", kind="country"))
    assert taxonomy.mentions("白俄罗斯与俄罗斯") == {"belarus": 1, "russia": 1}


def test_overlaps_resolve_leftmost_longest() -> None:
    taxonomy = small(tag_def("ab", "甲乙"), tag_def("bcd", "乙丙丁"), tag_def("c", "丙"))
    # "甲乙" starts first and wins; "乙丙丁" overlaps it and is dropped; "丙" no longer overlaps.
    assert taxonomy.mentions("甲乙丙丁") == {"ab": 1, "c": 1}
    # Where "乙丙丁" starts first it wins and hides the "丙" inside it.
    assert taxonomy.mentions("戊乙丙丁") == {"bcd": 1}
    assert taxonomy.mentions("丙丙") == {"c": 2}


def test_a_longer_phrase_cut_off_by_the_end_of_the_text_hides_nothing(real: Taxonomy) -> None:
    # "oleksandr syrsky" starts "oleksandr syrskyi" but the text ends first:
    # the "syrsky" in it still counts (pyahocorasick's iter_long missed it).
    assert real.mentions("Oleksandr Syrsky") == {"syrskyi": 1}
    taxonomy = small(tag_def("abcd", "甲乙丙丁"), tag_def("c", "丙"))
    assert taxonomy.mentions("甲乙丙") == {"c": 1}


def test_lone_surrogates_are_no_obstacle(real: Taxonomy) -> None:
    assert real.mentions("\udfff普京\ud800 Putin\udc00") == {"putin": 2}
    taxonomy = small(tag_def("odd", "甲\udfff"))
    assert taxonomy.mentions("甲\udfff甲\ud800") == {"odd": 1}


# --------------------------------------------------------------------------- evidence rule


@pytest.fixture
def sanctions() -> Taxonomy:
    return small(tag_def("sanctions", "制裁"), tag_def("drones", "无人机"))


def test_one_body_mention_is_not_enough(sanctions: Taxonomy) -> None:
    assert sanctions.tag("新闻标题", "美国宣布制裁。") == ()


def test_two_body_mentions_are_enough(sanctions: Taxonomy) -> None:
    assert sanctions.tag("新闻标题", "美国宣布制裁。欧盟也宣布制裁。") == ("sanctions",)


def test_one_title_mention_is_enough(sanctions: Taxonomy) -> None:
    assert sanctions.tag("美国宣布制裁", "正文没有提到。") == ("sanctions",)


def test_ranking_uses_title_weight_then_slug() -> None:
    taxonomy = small(tag_def("aa", "甲"), tag_def("bb", "乙"), tag_def("cc", "丙"), tag_def("dd", "丁"), title_weight=3)
    # aa: 1 title = 3; bb: 2 body = 2; cc: 4 body = 4; dd: 3 body = 3 (ties with aa).
    assert taxonomy.tag("甲", "乙乙丙丙丙丙丁丁丁") == ("cc", "aa", "dd", "bb")


def test_max_tags_keeps_the_strongest() -> None:
    taxonomy = small(tag_def("aa", "甲"), tag_def("bb", "乙"), tag_def("cc", "丙"), max_tags=2)
    assert taxonomy.tag("", "甲甲乙乙乙丙丙丙丙") == ("cc", "bb")


def test_balance_kinds_keeps_room_for_other_kinds() -> None:
    tags = (
        tag_def("russia", "俄罗斯", kind="country"),
        tag_def("ukraine", "乌克兰", kind="country"),
        tag_def("usa", "美国", kind="country"),
        tag_def("geneva", "日内瓦", kind="place"),
    )
    body = "俄罗斯" * 9 + "乌克兰" * 8 + "美国" * 7 + "日内瓦" * 2
    assert small(*tags, max_tags=3).tag("", body) == ("russia", "ukraine", "geneva")
    assert small(*tags, max_tags=3, balance_kinds=False).tag("", body) == ("russia", "ukraine", "usa")
    # Balancing only matters when more tags qualify than fit.
    assert small(*tags).tag("", body) == ("russia", "ukraine", "usa", "geneva")


def test_tagging_rules_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        TaggingRules(min_body_mentions=0)
    with pytest.raises(ValueError):
        TaggingRules(max_tags=True)
    with pytest.raises(ValueError):
        TaggingRules(balance_kinds=1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- loading


def test_settings_override_defaults() -> None:
    taxonomy, errors = load_taxonomy(FIXTURES / "settings.yaml")
    assert errors == []
    assert taxonomy.rules == TaggingRules(min_body_mentions=3, title_weight=5, max_tags=2, balance_kinds=False)
    assert taxonomy.tag("", "制裁，制裁") == ()
    assert taxonomy.tag("", "制裁，制裁，制裁") == ("sanctions",)
    # Title weight 5 beats four body mentions; max_tags 2 drops the third.
    assert taxonomy.tag("停火", "无人机" * 4 + "制裁" * 3) == ("ceasefire", "drones")


def test_real_settings_match_the_documented_defaults(real: Taxonomy) -> None:
    assert real.rules == TaggingRules()


def test_malformed_taxonomy_reports_instead_of_raising() -> None:
    taxonomy, errors = load_taxonomy(FIXTURES / "malformed.yaml")
    assert all(isinstance(error, TaxonomyError) for error in errors)
    by_line: dict[int | None, list[str]] = {}
    for error in errors:
        by_line.setdefault(error.line, []).append(error.message)

    def reported(line: int, *words: str) -> bool:
        return any(all(word in message for word in words) for message in by_line.get(line, []))

    assert reported(4, "min_body_mentions")
    assert reported(5, "max_tags")
    assert reported(6, "unknown setting", "colour")
    assert reported(13, "duplicate slug", "kyiv")
    assert reported(18, "kind", "city")
    assert reported(23, "Bad_Slug")
    assert reported(31, "基輔", "already claimed by kyiv")
    assert reported(31, "12")
    assert reported(32, "伊斯兰堡")
    assert reported(33, "hobby")
    assert reported(34, "must be a mapping")
    assert reported(35, "noname", "name")
    assert len(errors) == 12

    # Good parts survive: bad settings fall back, the first kyiv wins, lammy keeps its good aliases.
    assert taxonomy.rules == TaggingRules()
    assert list(taxonomy.tags) == ["kyiv", "lammy"]
    assert taxonomy.tags["kyiv"].name == "基辅"
    assert taxonomy.tags["lammy"].aliases == ("戴维·拉米",)
    assert taxonomy.tags["lammy"].exclude == ("拉米雷斯",)
    assert taxonomy.tag("基輔见闻", "") == ("kyiv",)


def test_yaml_syntax_error_and_missing_file_are_reported() -> None:
    taxonomy, errors = load_taxonomy(FIXTURES / "syntax_error.yaml")
    assert len(taxonomy.tags) == 0
    assert len(errors) == 1 and "YAML" in errors[0].message and errors[0].line is not None

    taxonomy, errors = load_taxonomy(FIXTURES / "does_not_exist.yaml")
    assert len(taxonomy.tags) == 0 and len(errors) == 1
    assert taxonomy.tag("标题", "正文") == ()


def test_build_taxonomy_refuses_conflicting_tags() -> None:
    with pytest.raises(ValueError, match="claimed"):
        small(tag_def("aa", "甲"), tag_def("bb", "乙", "甲"))
    with pytest.raises(ValueError, match="duplicate"):
        small(tag_def("aa", "甲"), tag_def("aa", "乙"))


# --------------------------------------------------------------------------- resolve and merge


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("putin", "putin"),
        ("普京", "putin"),
        ("Vladimir Putin", "putin"),
        ("VLADIMIR   PUTIN", "putin"),
        ("蒲亭", "putin"),
        ("  泽连斯基 ", "zelensky"),
        ("Zelenskyy", "zelensky"),
        ("ＮＡＴＯ", "nato"),
        ("北約", "nato"),
        ("Peace talks", "peace-talks"),
        ("和谈", "peace-talks"),
        ("united-states", "united-states"),
    ],
)
def test_resolve_known_names(real: Taxonomy, name: str, slug: str) -> None:
    assert real.resolve(name) == slug


@pytest.mark.parametrize("name", ["新媒体", "新闻", "快讯", "Aljazeera 半岛网", "", "nobody"])
def test_resolve_unknown_names(real: Taxonomy, name: str) -> None:
    assert real.resolve(name) is None


def test_merge_keeps_handwritten_and_reports_unknown(real: Taxonomy) -> None:
    detected = ("ukraine", "russia", "blinken")
    merged, unknown = real.merge(detected, ["新闻", "日内瓦", "Blinken", "新媒体", "GENEVA", "新闻", " "])
    assert merged == ("geneva", "blinken", "ukraine", "russia")
    assert unknown == ("新闻", "新媒体")


def test_merge_keeps_handwritten_even_beyond_max_tags() -> None:
    taxonomy = small(tag_def("aa", "甲"), tag_def("bb", "乙"), tag_def("cc", "丙"), max_tags=1)
    detected = taxonomy.tag("甲", "")
    assert taxonomy.merge(detected, ["乙", "cc"]) == (("bb", "cc", "aa"), ())


# --------------------------------------------------------------------------- determinism and cost


def test_order_is_deterministic(real: Taxonomy) -> None:
    title, body = read_article(ARTICLES / "003_36f5a37b37c2c4e1.txt")
    first = real.tag(title, body)
    again, _ = load_taxonomy(TAGS_YAML)
    assert real.tag(title, body) == first
    assert again.tag(title, body) == first


def test_tagging_does_not_rebuild_the_automaton(real: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    real.tag("普京", "")  # the automaton is built on first use
    built: list[object] = []
    real_automaton = ahocorasick_rs.BytesAhoCorasick

    def spy(*args: object, **kwargs: object) -> object:
        built.append(args)
        return real_automaton(*args, **kwargs)

    monkeypatch.setattr(tagging.ahocorasick_rs, "BytesAhoCorasick", spy)
    for _ in range(200):
        assert "blinken" in real.tag("布林肯与拉夫罗夫会晤", "乌克兰" * 50)
    assert built == []
    # The spy does see a build, so the check above can fail; and it is only
    # built for tagging (a build with nothing to parse never tags).
    taxonomy = build_taxonomy([tag_def("aa", "甲")], TaggingRules())
    assert built == []
    assert taxonomy.tag("甲", "甲") == ("aa",)
    assert taxonomy.tag("甲", "甲") == ("aa",)
    assert len(built) == 1


# --------------------------------------------------------------------------- the real taxonomy


@pytest.fixture(scope="module")
def raw_entries() -> list[dict[str, object]]:
    data = yaml.safe_load(TAGS_YAML.read_text(encoding="utf-8"))
    assert set(data) == {"settings", "tags"}
    return data["tags"]


def test_real_taxonomy_is_big_enough_and_valid(raw_entries: list[dict[str, object]]) -> None:
    assert len(raw_entries) >= 80
    slugs = [entry["slug"] for entry in raw_entries]
    assert len(slugs) == len(set(slugs))
    for entry in raw_entries:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(entry["slug"])), entry
        assert entry["kind"] in KINDS, entry
        assert entry["name"] and entry["en"], entry
    assert {entry["kind"] for entry in raw_entries} == set(KINDS)


def test_real_taxonomy_has_no_shared_alias(raw_entries: list[dict[str, object]]) -> None:
    owner: dict[str, str] = {}
    for entry in raw_entries:
        terms = {normalise(str(term)).strip() for term in [entry["name"], entry["en"], *entry.get("aliases", [])]}  # type: ignore[misc]
        for term in terms:
            assert owner.setdefault(term, str(entry["slug"])) == entry["slug"], (term, owner[term], entry["slug"])


def test_real_taxonomy_covers_the_brief(real: Taxonomy) -> None:
    for slug in [
        "putin", "lavrov", "peskov", "shoigu", "medvedev", "zakharova", "belousov", "nebenzya", "antonov",
        "zelensky", "kuleba", "yermak", "reznikov", "umerov", "shmyhal", "syrskyi", "zaluzhnyi", "sybiha",
        "biden", "blinken", "austin", "sullivan", "harris", "trump", "kirby", "psaki", "burns",
        "boris-johnson", "truss", "sunak", "starmer", "cleverly", "lammy", "von-der-leyen", "michel", "borrell",
        "macron", "scholz", "meloni", "erdogan", "xi-jinping", "wang-yi", "li-hui", "lukashenko",
        "nato", "stoltenberg", "rutte", "g7", "g20", "un", "un-security-council", "guterres", "eu", "iaea",
        "grossi", "pentagon", "kremlin", "russia", "ukraine", "united-states", "united-kingdom", "france",
        "germany", "china", "turkey", "belarus", "iran", "north-korea", "poland", "hungary", "finland", "sweden",
        "kyiv", "moscow", "crimea", "donbas", "donetsk", "luhansk", "kherson", "zaporizhzhia", "kharkiv", "kursk",
        "istanbul", "geneva", "minsk", "brussels", "mariupol", "bakhmut", "odesa", "black-sea", "bucha",
        "sanctions", "military-aid", "peace-talks", "nuclear-weapons", "long-range-weapons", "air-defence",
        "grain-deal", "energy", "prisoner-exchange", "diplomat-expulsions", "annexation", "war-crimes",
        "ceasefire", "invasion", "drones", "refugees",
    ]:
        assert slug in real.tags, slug


# --------------------------------------------------------------------------- real articles


@pytest.mark.parametrize(
    ("filename", "expected", "unexpected"),
    [
        ("000_e398a62aa10370be.txt", {"blinken", "lammy", "kyiv", "long-range-weapons", "shmyhal"}, {"japan"}),
        ("001_ad311631ccc6ebed.txt", {"g7", "zelensky", "air-defence", "nuclear-weapons", "nato"}, {"japan", "italy"}),
        ("002_44a241bc3d13903c.txt", {"blinken", "lavrov", "geneva", "military-aid"}, {"long-range-weapons"}),
        ("003_36f5a37b37c2c4e1.txt", {"austin", "putin", "drones", "kherson", "iran"}, {"trump"}),
        ("004_33d1c6b35f764fa2.txt", {"blinken", "lavrov", "diplomat-expulsions"}, {"long-range-weapons", "geneva"}),
    ],
)
def test_real_articles_get_sensible_tags(
    real: Taxonomy, filename: str, expected: set[str], unexpected: set[str]
) -> None:
    title, body = read_article(ARTICLES / filename)
    tags = real.tag(title, body)
    assert expected <= set(tags), tags
    assert not unexpected & set(tags), tags
    assert len(tags) <= real.rules.max_tags
    assert {"新闻", "新媒体"}.isdisjoint(tags)


# --------------------------------------------------------------------------- properties


_SOME_ALIASES = ["普京", "泽连斯基", "Blinken", "北约", "白俄罗斯", "俄罗斯", "拉米", "米歇尔·巴切莱特", "·", "（", "Ｇ７"]
_texts = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(_SOME_ALIASES)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(title=_texts, body=_texts)
def test_tagging_never_raises_and_is_deterministic(real: Taxonomy, title: str, body: str) -> None:
    tags = real.tag(title, body)
    assert tags == real.tag(title, body)
    assert len(tags) == len(set(tags)) <= real.rules.max_tags
    assert set(tags) <= set(real.tags)
    for slug, count in real.mentions(body).items():
        assert slug in real.tags and count >= 1


@given(st.text())
def test_normalise_keeps_offsets(text: str) -> None:
    assert len(normalise(text)) == len(text)
    assert normalise(normalise(text)) == normalise(text)


def test_normalise_paths_agree_with_the_table() -> None:
    """ASCII (str.lower), short (str.translate) and long (NumPy) texts are
    mapped alike: here every code point, surrogates included."""
    table = tagging._NORMALISE_TABLE
    every = "".join(map(chr, range(0x110000)))
    assert normalise(every) == every.translate(table)
    ascii_only = "".join(map(chr, range(128))) * 2
    assert normalise(ascii_only) == ascii_only.translate(table)
    for start in range(0, len(every), 50_000):
        short = every[start:start + 40]
        assert normalise(short) == short.translate(table)


_MIXED = st.lists(st.one_of(st.sampled_from(_SOME_ALIASES + ["\ue000", "\ue001", "\udfff", " (", "Ａ"]),
                            st.text(max_size=8)), max_size=60).map("".join)


def reference_mentions(taxonomy: Taxonomy, text: str) -> dict[str, int]:
    """The rule of tagging's docstring, spelt out slowly: at each position the
    longest phrase starting there is a hit and the scan resumes after it; a
    hit glued to an ASCII letter or digit is dropped; a hit of the previous
    kept hit's tag after a gloss gap is not counted again."""
    patterns = tagging._patterns(list(taxonomy.tags.values()))
    longest = max(map(len, patterns))
    norm = normalise(text)
    counts: dict[str, int] = {}
    previous: tuple[str | None, int] | None = None
    start = 0
    while start < len(norm):
        ends = range(min(len(norm), start + longest), start, -1)
        end = next((end for end in ends if norm[start:end] in patterns), None)
        if end is None:
            start += 1
            continue
        pattern = patterns[norm[start:end]]
        glued = (pattern.check_left and start > 0 and norm[start - 1] in WORD_CHARS) or (
            pattern.check_right and end < len(norm) and norm[end] in WORD_CHARS)
        if not glued:
            gloss = previous is not None and previous[0] == pattern.slug and re.fullmatch(
                r"\s{0,2}[(\[【〔「《]\s{0,2}", norm[previous[1]:start]) is not None
            if pattern.slug is not None and not gloss:
                counts[pattern.slug] = counts.get(pattern.slug, 0) + 1
            previous = (pattern.slug, end)
        start = end
    return counts


WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@settings(max_examples=300, deadline=None)
@given(_MIXED)
def test_mentions_follow_the_reference_rule(real: Taxonomy, text: str) -> None:
    """The automaton, its byte offsets and the shortcuts of the hit loop give
    what the slow reading of the rule gives (lone surrogates, private-use and
    astral characters, glosses and ASCII neighbours included)."""
    assert list(real.mentions(text).items()) == list(reference_mentions(real, text).items())


def reference_tag(taxonomy: Taxonomy, title: str, body: str) -> tuple[str, ...]:
    """The evidence rule and the round robin of tagging's docstring, spelt
    out with slugs and (score, slug) pairs (tag() ranks by integer keys)."""
    rules = taxonomy.rules
    in_title, in_body = taxonomy.mentions(title), taxonomy.mentions(body)
    qualified = {slug for slug in {*in_title, *in_body}
                 if in_title.get(slug, 0) or in_body.get(slug, 0) >= rules.min_body_mentions}
    score = {slug: rules.title_weight * in_title.get(slug, 0) + in_body.get(slug, 0)
             for slug in qualified}
    ranked = sorted(qualified, key=lambda slug: (-score[slug], slug))
    if rules.balance_kinds and len(ranked) > rules.max_tags:
        depth = {slug: [other for other in ranked if taxonomy.tags[other].kind == taxonomy.tags[slug].kind].index(slug)
                 for slug in ranked}
        kept = sorted(ranked, key=lambda slug: (depth[slug], -score[slug], slug))[: rules.max_tags]
        ranked = sorted(kept, key=lambda slug: (-score[slug], slug))
    return tuple(ranked[: rules.max_tags])


_RULES = st.builds(TaggingRules, min_body_mentions=st.integers(1, 4), title_weight=st.integers(1, 4),
                   max_tags=st.integers(1, 6), balance_kinds=st.booleans())


@functools.lru_cache(maxsize=None)
def real_with(rules: TaggingRules) -> Taxonomy:
    return build_taxonomy(list(load_taxonomy(TAGS_YAML)[0].tags.values()), rules)


@settings(max_examples=300, deadline=None)
@given(_RULES, _MIXED, _MIXED)
def test_tag_follows_the_reference_rule(rules: TaggingRules, title: str, body: str) -> None:
    """Ranking by integer keys and the round robin over them pick and order
    the tags the rule does, with any settings."""
    taxonomy = real_with(rules)
    assert taxonomy.tag(title, body) == reference_tag(taxonomy, title, body)
