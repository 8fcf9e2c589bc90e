"""Each input format, read from a fixture named by what it shows, field by field."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.conftest import parse_fixture


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_feed_markdown_fields_and_footer_removed() -> None:
    outcome = parse_fixture("voa/feed_markdown_with_footer.txt")
    article = outcome.article
    assert article is not None
    assert article.title == "布林肯在联合国安理会谴责俄罗斯“假公投”"
    assert article.source_url == "https://www.voachinese.com/a/blinken-unsc-20220922/6759001.html"
    assert article.outlet.key == "voa"
    # The <i> date line is the publication time, not the <!--epoch--> fetch time.
    assert article.published == utc(2022, 9, 22, 18, 5)
    assert article.lead_image == ("https://images.weserv.nl?url=gdb.voanews.com/"
                                  "00000000-0000-0000-0000-000000000001_w900.jpg")
    assert article.lead_caption == "美国国务卿布林肯在联合国安理会会议上发言。（2022年9月22日）"
    assert article.slug == "voa-6759001"
    assert "feedx" not in outcome.body_html and "获取更多RSS" not in outcome.body_html
    # <br><br> inside a paragraph becomes two paragraphs.
    assert outcome.body_html.count("<p>") == 3
    assert article.summary == ("美国国务卿布林肯星期四在联合国安理会说，俄罗斯在乌克兰被占领地区举行的所谓公投是一场骗局。"
                               "他说，安理会成员必须明确表示，不会接受俄罗斯吞并乌克兰领土。"
                               "俄罗斯外长拉夫罗夫在会上为俄罗斯的行动辩护。")
    assert article.reading_minutes == 1
    assert article.warnings == ()


def test_feed_markdown_without_date_line_falls_back_to_archive_time_with_warning() -> None:
    outcome = parse_fixture("voa/no_date_line_uses_archive_time.txt")
    assert outcome.article is not None
    assert outcome.article.published == utc(2022, 11, 24, 9, 0)
    assert "fetch time" in outcome.article.warnings[0]


def test_jekyll_wrapper_date_is_fetch_time_and_date_line_wins() -> None:
    outcome = parse_fixture("jekyll/jekyll_wrapped_feed_markdown.md")
    article = outcome.article
    assert article is not None
    assert article.title == "拜登与泽连斯基在白宫会晤"
    assert article.published == utc(2022, 12, 21, 23, 45)  # not 2022-12-22T03:10 from date:
    assert article.outlet.key == "voa"
    assert article.lead_caption == "拜登总统在白宫欢迎泽连斯基总统。"
    assert article.declared_tags == ()  # the wrapper's tag is just the outlet's name
    assert outcome.body_html.startswith("<p>乌克兰总统泽连斯基星期三抵达华盛顿")
    assert not outcome.body_html.endswith("</div>")


def test_jekyll_wrapper_other_outlet_with_day_month_year_line() -> None:
    outcome = parse_fixture("jekyll/jekyll_wrapped_other_outlet_dmy_date.md")
    article = outcome.article
    assert article is not None
    assert article.outlet.key == "rfi"
    # "06/03/2022 - 11:20" is Paris time (UTC+1 in March).
    assert article.published == utc(2022, 3, 6, 10, 20)
    assert article.lead_image == "https://s.rfi.fr/media/display/example/w:310/p:16x9/photo.jpeg"
    assert "获取更多RSS" not in outcome.body_html
    assert 'class="' not in outcome.body_html


def test_hexo_with_blank_first_line() -> None:
    outcome = parse_fixture("aljazeera/hexo_blank_first_line.md")
    article = outcome.article
    assert article is not None
    assert article.title == '泽连斯基呼吁西方提供更多防空系统 俄方称"特别军事行动"将继续'
    assert article.outlet.key == "aljazeera"
    assert article.published == utc(2022, 10, 11, 8, 30)
    assert article.author == "Aljazeera 半岛网"
    assert article.source_url is None
    assert article.lead_image.endswith("/2022/10/lead.jpg?w=770&resize=770%2C433")
    # The lead image is not repeated in the body; the second image stays, lazy and private.
    assert "lead.jpg" not in outcome.body_html
    assert ('<img alt="" decoding="async" loading="lazy" referrerpolicy="no-referrer" '
            'src="https://chinese.aljazeera.net/wp-content/uploads/2022/10/second.jpg">'
            in outcome.body_html)
    assert article.declared_tags == ()  # Hexo categories are source categories
    assert article.slug.startswith("aljazeera-") and len(article.slug) == len("aljazeera-") + 12


def test_authored_markdown_article() -> None:
    outcome = parse_fixture("markdown/authored_markdown_article.md")
    article = outcome.article
    assert article is not None
    assert article.published == utc(2022, 3, 29, 15, 0)
    assert "<strong>伊斯坦布尔</strong>" in outcome.body_html
    assert "<li>安全保障</li>" in outcome.body_html
    assert article.declared_tags == ("和谈", "伊斯坦布尔", "不存在的标签")
    assert article.outlet.key == "other"


def test_legacy_encodings_are_read_with_a_warning() -> None:
    for name, encoding in (("gbk_encoded.txt", "gb18030"), ("utf16_with_bom.txt", "utf-16")):
        outcome = parse_fixture(f"problems/{name}")
        assert outcome.article is not None, name
        assert outcome.article.title == "乌克兰外长库列巴与拉夫罗夫在安塔利亚会晤"
        assert any(encoding in w and "UTF-8" in w for w in outcome.article.warnings)


def test_crlf_line_endings_read_like_lf() -> None:
    from tests.conftest import FIXTURES, SETTINGS
    from generator.models import SourceFile
    from generator.parse import parse_bytes
    data = (FIXTURES / "voa/feed_markdown_with_footer.txt").read_bytes().replace(b"\n", b"\r\n")
    crlf = parse_bytes(SourceFile("crlf.txt", data, "x"), SETTINGS)
    lf = parse_fixture("voa/feed_markdown_with_footer.txt")
    assert crlf.article is not None and lf.article is not None
    assert (crlf.article.title, crlf.article.published, crlf.body_html) == \
        (lf.article.title, lf.article.published, lf.body_html)
