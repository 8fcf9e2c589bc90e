"""What each hostile fixture must become, and an auditor for built pages.

Every file in tests/hostile/fixtures/ is named by the behaviour it shows and
listed here: either it is PUBLISHED (with the warnings it must carry), or it
is REPORTED as an error whose reason contains the given words. A fixture not
listed here fails the suite, so a new one cannot be added without deciding.

Payloads all try to run `window.__pwned=true;alert(1)`; the only external
host they may legitimately point an <img> at is img.example.com (scraped
bodies hotlink their pictures by design); everything else they reference
(evil.example, phish.example) must never be fetched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree, html as lxml_html

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IMAGE_HOST = "img.example.com"


@dataclass(frozen=True)
class Published:
    warnings: tuple[str, ...] = ()  # words that some warning of the article contains


@dataclass(frozen=True)
class Reported:
    words: tuple[str, ...]  # words the error's reason contains


P = Published
EXPECTED: dict[str, Published | Reported] = {
    # Feed markdown (VOA): bodies.
    "voa_body_script_tags.txt": P(),
    "voa_body_event_handler_attributes.txt": P(),
    "voa_body_javascript_data_vbscript_urls.txt": P(),
    "voa_body_encoded_javascript_urls.txt": P(),
    "voa_body_jinja_template_syntax.txt": P(),
    "voa_svg_tricks.txt": P(),
    "voa_mathml_mutation_xss.txt": P(),
    "voa_noscript_xmp_mutation_xss.txt": P(),
    "voa_iframe_object_embed_applet.txt": P(),
    "voa_form_button_input_formaction.txt": P(),
    "voa_base_href_and_meta_refresh.txt": P(),
    "voa_css_import_and_background_urls.txt": P(),
    "voa_css_fixed_overlay_covers_page.txt": P(),
    "voa_link_preload_prefetch_stylesheet.txt": P(),
    "voa_srcset_picture_video_poster.txt": P(),
    "voa_scheme_without_host_urls.txt": P(),
    "voa_body_only_script_is_empty.txt": Reported(("empty body",)),
    # Titles, captions, the title link and lead images.
    "voa_title_html_script_and_handlers.txt": P(),
    "voa_title_jinja_template_syntax.txt": P(),
    "voa_title_link_javascript_url.txt": P(("original link", "not an http(s) URL")),
    "voa_title_link_data_url.txt": P(("original link", "not an http(s) URL")),
    "voa_title_link_vbscript_url.txt": P(("original link", "not an http(s) URL")),
    "voa_title_link_unclosed_ipv6_host.txt": P(("original link", "not a valid URL")),
    "voa_caption_html_and_script.txt": P(),
    "voa_lead_image_javascript_url.txt": P(("lead image", "not an http(s) URL")),
    "voa_lead_image_data_svg_url.txt": P(("lead image", "not an http(s) URL")),
    "voa_lead_image_attribute_breakout.txt": P(),
    "voa_source_url_quote_breakout.txt": P(),
    # Anything that becomes a URL or a file name.
    "voa_path_traversal_in_source_url.txt": P(),
    "voa_percent_encoded_traversal_in_source_url.txt": P(),
    # Bytes: NUL, control characters, encodings, line endings.
    "voa_nul_byte_late_in_body.txt": P(),
    "voa_nul_bytes_binary.txt": Reported(("binary",)),
    "voa_control_characters_in_title_and_body.txt": P(),
    "voa_gbk_encoded.txt": P(("gb18030", "UTF-8")),
    "voa_big5_encoded.txt": P(("big5", "UTF-8")),
    "voa_utf16le_with_bom.txt": P(("utf-16", "UTF-8")),
    "voa_utf16be_with_bom.txt": P(("utf-16", "UTF-8")),
    "voa_utf8_bom_crlf.txt": P(),
    "voa_lone_cr_line_endings.txt": P(),
    "voa_utf16_without_bom.txt": Reported(("binary", "NUL")),
    "voa_mixed_utf8_and_gbk.txt": Reported(("not valid UTF-8", "re-save")),
    # Dates.
    "voa_date_without_zone_minus_0000.txt": P(("no time zone",)),
    "voa_date_far_future.txt": Reported(("publication time", "outside 1990–2099")),
    "voa_date_before_1970.txt": Reported(("publication time", "outside 1990–2099")),
    "voa_date_year_9999_extreme_zone.txt": Reported(("publication time", "outside 1990–2099")),
    "voa_date_year_with_ten_digits.txt": Reported(("publication time", "not a date")),
    "voa_epoch_far_future_without_date_line.txt": Reported(("epoch", "outside 1990–2099")),
    # Hexo (Al Jazeera) front matter.
    "hexo_headimg_javascript_url.md": P(("lead image", "not an http(s) URL")),
    "hexo_thumbnail_data_url.md": P(("lead image", "not an http(s) URL")),
    "hexo_headimg_attribute_breakout.md": P(),
    "hexo_headimg_unclosed_ipv6_host.md": P(("lead image", "not a valid URL")),
    "hexo_link_field_javascript_url.md": P(("original link", "not an http(s) URL")),
    "hexo_title_script_and_entities.md": P(),
    "hexo_title_only_html_is_empty.md": Reported(("missing title",)),
    "hexo_date_without_zone.md": P(("no time zone",)),
    "hexo_date_year_1_with_zone.md": Reported(("publication time", "outside 1990–2099")),
    "hexo_date_that_does_not_exist.md": Reported(("not valid YAML", "day is out of range")),
    "hexo_path_traversal_in_fields.md": P(),
    "hexo_crlf_line_endings.md": P(),
    "hexo_body_comments_and_cdata.md": P(),
    "hexo_yaml_python_object_construction.md": Reported(("not valid YAML", "constructor")),
    "hexo_yaml_python_name_tag.md": Reported(("not valid YAML", "constructor")),
    "hexo_yaml_alias_bomb.md": Reported(("aliases",)),
    "hexo_yaml_merge_key_alias.md": Reported(("aliases",)),
    "hexo_yaml_not_a_mapping.md": Reported(("mapping",)),
    "hexo_front_matter_never_closed.md": Reported(("never closed",)),
    # Jekyll-wrapped feed markdown.
    "jekyll_from_field_javascript_url.md": P(("original link", "not an http(s) URL")),
    "jekyll_tags_with_html_and_traversal.md": P(),
    # Authored Markdown.
    "markdown_raw_html_and_javascript_links.md": P(),
    "markdown_image_field_javascript_url.md": P(("lead image", "not an http(s) URL")),
    "markdown_jinja_template_syntax.md": P(),
    "markdown_date_without_zone.md": P(("no time zone",)),
    "markdown_date_before_1970.md": Reported(("publication time", "outside 1990–2099")),
}


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if p.is_file())


# -- generated hostile inputs (too big, or not storable, as files) ------------------
VOA_HEAD = ("<!--1726069142000-->\n[{title}](https://www.voachinese.com/a/hostile/{vid}.html)"
            "\n------\n\n<div><i>Wed, 11 Sep 2024 15:37:24 GMT</i></div>")
TEXT = "<p>乌克兰与俄罗斯的外交谈判继续进行，基辅方面表示愿意对话。</p>"


def voa_file(vid: int, title: str, body: str) -> bytes:
    return (VOA_HEAD.format(title=title, vid=vid) + body + "\n").encode("utf-8")


def generated() -> dict[str, tuple[bytes, Published | Reported]]:
    """Big or odd inputs made at test time: name → (bytes, expectation)."""
    return {
        # 4 MB on a single line: must parse in seconds and keep its text.
        "voa_huge_single_line_body.txt": (
            voa_file(8200001, "乌克兰：4 MB 的单行正文", "<p>" + "乌克兰和谈。" * 230_000 + "</p>"),
            P()),
        # 200,000 <br> (a quadratic regex once took minutes on this).
        "voa_many_line_breaks.txt": (
            voa_file(8200002, "乌克兰：二十万个换行", TEXT + "<br>" * 200_000 + TEXT), P()),
        # 300,000 nested <div>: refused quickly instead of minutes in the sanitizer.
        "voa_deeply_nested_divs.txt": (
            voa_file(8200003, "乌克兰：三十万层嵌套", "<div>" * 300_000 + TEXT), Reported(("nests",))),
        # A title made of 50,000 nested elements (once minutes in the sanitizer).
        "voa_title_with_deeply_nested_markup.txt": (
            voa_file(8200005, "乌克兰" + "<hr><div>获取更多RSS：" * 50_000, TEXT),
            Reported(("nests",))),
        # Attributes full of '<' (libxml2 once took quadratic time serializing them).
        "voa_attributes_full_of_angle_brackets.txt": (
            voa_file(8200006, "乌克兰：属性里的尖括号", TEXT
                     + '<p><img src="https://img.example.com/a.jpg?' + "<!--" * 100_000 + '">'
                     + '<a href="https://example.org/" title="' + "<" * 200_000 + '">链接</a></p>'),
            P()),
        # A caption of 50,000 "<!--" (a tag-stripping regex once took 12 s on it).
        "voa_caption_full_of_comment_openers.txt": (
            voa_file(8200007, "乌克兰：图片说明里的注释开头",
                     '<img src="https://img.example.com/c.jpg"><div><small>说明'
                     + "<!--" * 50_000 + "</small></div>" + TEXT), P()),
        # A 200,000-character title.
        "voa_very_long_title.txt": (
            voa_file(8200004, "乌克兰标题" * 40_000, TEXT), P()),
        # Front matter far beyond anything hand-written.
        "hexo_huge_front_matter.md": (
            ("\n---\ntitle: 乌克兰\ndate: 2022-03-01T00:00:00Z\n" + "x: " + "y" * 70_000
             + "\n---\n<div>" + TEXT + "</div>\n").encode(), Reported(("front matter is",))),
        # 250,000 characters of authored Markdown (markdown-it-py: ~8 s per MB).
        "markdown_body_too_long_for_hand_written.md": (
            ("---\ntitle: 乌克兰\ndate: 2022-03-01T00:00:00Z\n---\n\n乌克兰 " + "<p>x</p>" * 31_250
             ).encode(), Reported(("Markdown body", "not a hand-written page"))),
        # YAML nested 30,000 deep: libyaml's C loader overflowed the C stack (a segfault).
        "hexo_yaml_deeply_nested_flow_sequence.md": (
            ("\n---\ntitle: 乌克兰\ndate: 2022-03-01T00:00:00Z\ntags: " + "[" * 30_000
             + "\n---\n<div>" + TEXT + "</div>\n").encode(), Reported(("nests",))),
        "hexo_yaml_deeply_nested_block_sequence.md": (
            ("\n---\ntitle: 乌克兰\ndate: 2022-03-01T00:00:00Z\ntags:\n  " + "- " * 30_000
             + "x\n---\n<div>" + TEXT + "</div>\n").encode(), Reported(("nests",))),
        # Very long lines everywhere: a 1 MB heading line that never closes its link.
        "voa_unclosed_heading_megabyte_line.txt": (
            ("<!--1726069142000-->\n[" + "乌克兰](" * 150_000 + "\n------\n" + TEXT).encode(),
            Reported(("title",))),
    }


# -- auditing built pages ---------------------------------------------------------
_BAD_SCHEME = re.compile(r"^(?:javascript|vbscript|data|livescript|mocha):", re.IGNORECASE)
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "background",
                   "xlink:href", "lowsrc", "dynsrc", "ping", "srcset", "codebase", "cite",
                   "longdesc", "manifest", "icon", "profile", "usemap", "archive"}
# Never in any page: they run, load, frame or restyle things.
_NEVER_ELEMENTS = {"iframe", "object", "embed", "applet", "frame", "frameset", "portal",
                   "base", "math", "video", "audio", "source", "track", "picture",
                   "template", "isindex", "keygen", "marquee", "xmp", "plaintext",
                   "noembed", "noframes", "textarea", "style", "foreignobject"}
# Also never inside what came from an input file (the article body); the site's
# own templates may use them elsewhere (the chart's <svg>, the filter <form>).
_NEVER_IN_BODY = _NEVER_ELEMENTS | {"svg", "noscript", "form", "input", "button", "select",
                                    "option", "label", "script", "link", "meta", "title",
                                    "head", "body", "html", "dialog", "details", "summary"}
_BODY_REGION = ("//*[contains(concat(' ', normalize-space(@class), ' '), ' body ')]"
                "|//figcaption")
# Text that came from an input and must stay text: no element inside.
_TEXT_ONLY = ("//article//h1|//figcaption|//title|//*[contains(concat(' ', normalize-space(@class), ' '),"
              " ' card-summary ')]|//*[contains(concat(' ', normalize-space(@class), ' '),"
              " ' card-title ')]/a")


def browser_url(url: str) -> str:
    """An http(s) URL as a browser reads it: backslashes are slashes, and a run
    of two or more after the scheme leads to the host ("http:\\\\\\x" is http://x).
    One slash or none ("http:/x", "https:x") stays relative-looking: browsers
    resolve those against the page when its scheme is the same."""
    url = url.strip("\x00\x20").replace("\\", "/")
    return re.sub(r"^(https?:)/{2,}", r"\1//", url, flags=re.IGNORECASE)


def _scheme_of(value: str) -> str:
    """The value as a browser would see its scheme: no whitespace or controls."""
    return re.sub(r"[\x00-\x20\x7f]+", "", value)


@dataclass
class Audit:
    base_path: str
    findings: list[str]

    def add(self, where: str, what: str) -> None:
        self.findings.append(f"{where}: {what}")


def audit_html(text: str, where: str, base_path: str) -> list[str]:
    """Everything in a built page that could run, load or cover something
    the site did not put there itself. Empty when the page is safe."""
    audit = Audit(base_path, [])
    lowered = text.lower()
    if "http-equiv" in lowered and "refresh" in lowered:
        audit.add(where, "meta refresh")
    doc = lxml_html.document_fromstring(text)
    scripts = 0
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        for name, value in el.attrib.items():
            name = name.lower()
            if name.startswith("on"):
                audit.add(where, f"<{tag} {name}=...>")
            if name in _URL_ATTRIBUTES and _BAD_SCHEME.match(_scheme_of(value)):
                audit.add(where, f"<{tag} {name}={value[:60]!r}>")
            if name in ("srcset", "ping", "background", "poster", "lowsrc", "dynsrc",
                        "formaction", "srcdoc"):
                audit.add(where, f"<{tag} {name}=...>")
            if name == "style" and re.search(r"url\s*\(|expression|@import|position\s*:\s*fixed",
                                             value, re.IGNORECASE):
                audit.add(where, f"<{tag} style={value[:60]!r}>")
        if tag == "script":
            scripts += 1
            _audit_script(el, audit, where)
        elif tag in _NEVER_ELEMENTS:
            audit.add(where, f"<{tag}> element")
        elif tag == "form" and not (el.get("action") or base_path).startswith(base_path):
            audit.add(where, f"<form action={el.get('action')!r}>")
        elif tag == "meta" and el.get("http-equiv"):
            audit.add(where, f"<meta http-equiv={el.get('http-equiv')!r}>")
        elif tag == "link":
            _audit_link(el, audit, where)
        elif tag == "img":
            _audit_image(el.get("src") or "", audit, where)
    for region in doc.xpath(_BODY_REGION):
        for el in region.iterdescendants():
            if isinstance(el.tag, str) and el.tag.lower() in _NEVER_IN_BODY:
                audit.add(where, f"<{el.tag}> inside the article body")
            if isinstance(el.tag, str) and el.get("style") is not None:
                audit.add(where, f"style attribute inside the article body: {el.get('style')!r}")
            if isinstance(el.tag, str) and el.get("class") is not None:
                audit.add(where, f"class attribute inside the article body: {el.get('class')!r}")
            if isinstance(el.tag, str) and el.get("id") is not None:
                audit.add(where, f"id attribute inside the article body: {el.get('id')!r}")
    for el in doc.xpath(_TEXT_ONLY):
        if len(el):
            audit.add(where, f"<{el[0].tag}> inside the text of <{el.tag}>")
    if lowered.count("<script") != scripts:
        audit.add(where, f"{lowered.count('<script')} '<script' in the text but {scripts} "
                         "script elements (a parser would disagree)")
    return audit.findings


def _audit_image(src: str, audit: Audit, where: str) -> None:
    if src.startswith(audit.base_path) and not src.startswith("//"):
        return  # the site's own
    browser_view = browser_url(src)
    host = (urlsplit(browser_view).hostname
            if browser_view.lower().startswith(("http:", "https:", "//")) else None)
    if host is None:
        audit.add(where, f"<img src={src[:60]!r}> (relative, or no usable URL)")
    elif host != IMAGE_HOST:
        audit.add(where, f"<img src={src[:60]!r}> (external host)")


def _audit_script(el: etree._Element, audit: Audit, where: str) -> None:
    src = el.get("src")
    kind = (el.get("type") or "").lower()
    if src is not None:
        if not src.startswith(audit.base_path) or (el.text or "").strip():
            audit.add(where, f"<script src={src!r}> not the site's own")
        return
    if kind == "application/ld+json":
        try:
            json.loads(el.text or "")
        except ValueError:
            audit.add(where, "JSON-LD script that is not JSON (broken out of?)")
        return
    audit.add(where, f"inline <script type={kind!r}>: {(el.text or '')[:60]!r}")


def _audit_link(el: etree._Element, audit: Audit, where: str) -> None:
    rel = (el.get("rel") or "").lower()
    href = el.get("href") or ""
    if rel in ("canonical", "alternate", "prev", "next"):
        return  # navigation metadata: never fetched by a browser
    if rel in ("stylesheet", "icon", "preload", "modulepreload") and href.startswith(
            audit.base_path):
        return
    audit.add(where, f"<link rel={rel!r} href={href[:60]!r}>")


def audit_feed(text: str, where: str, base_path: str) -> list[str]:
    """The feed must be well-formed XML, and the HTML it carries safe."""
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        return [f"{where}: not well-formed XML ({exc})"]
    findings = []
    for content in root.iter("{http://www.w3.org/2005/Atom}*"):
        if content.get("type") in ("html", "xhtml") and content.text:
            page = f"<!doctype html><html><body>{content.text}</body></html>"
            findings += audit_html(page, f"{where} <{etree.QName(content).localname}>",
                                   base_path)
    return findings
