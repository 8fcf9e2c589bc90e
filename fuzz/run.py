"""Fuzz the input side of the generator with Hypothesis-driven mutations of real files.

    .venv/bin/python -m fuzz.run --minutes 5          # the documented run
    .venv/bin/python -m fuzz.run --seconds 15         # what the test suite runs

Seeds are the real articles (content/articles/), the format fixtures
(tests/fixtures/) and the hostile fixtures (tests/hostile/fixtures/). Each
example picks a seed and applies 1–8 mutations drawn by Hypothesis: byte
flips, deletions, truncation, splices from another seed, inserted tokens
(markup, YAML, dates, encodings, control bytes), long repetitions (very long
lines, deep nesting, many <br>), line-ending and encoding changes.

Every mutated file is read the way a build reads it, and must:
* never raise anything but ReadError (parse.py turns that into a report entry);
* take at most a few seconds (2 s + 3 s per MB);
* if published: have a non-empty single-spaced title, a safe ASCII slug, a
  UTC time in 1990–2099, only http(s) URLs, no control characters, and a body
  holding only allow-listed tags, attributes and URL schemes;
* if reported: give a non-empty reason.
Every --build-every seconds the most recent mutants are also built into a site
(no search index) and every page is audited for anything that could run.

A failure is shrunk by Hypothesis to a small input, saved under fuzz/failures/
and the run exits 1. Exit 0 means no failure in the time given.
"""

from __future__ import annotations

import argparse
import faulthandler
import hashlib
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parent.parent
FAILURES = Path(__file__).resolve().parent / "failures"
SEED_DIRS = (ROOT / "content" / "articles", ROOT / "tests" / "fixtures",
             ROOT / "tests" / "hostile" / "fixtures")
SLUG = re.compile(r"^(?:voa-\d{4,}|(?:voa|aljazeera|rfi|other)-[0-9a-f]{12})(?:-\d+)?$")

TOKENS = [
    b"<script>alert(1)</script>", b"<img src=x onerror=alert(1)>", b"<svg onload=alert(1)>",
    b'<a href="javascript:alert(1)">', b"<iframe src=//evil.example>", b"<math><mtext>",
    b"<table><tr><td>", b"</div>", b"<div>", b"<p>", b"</p>", b"<br>", b"<br><br>", b"<hr>",
    b"<!--", b"-->", b"<![CDATA[", b"]]>", b"<style>", b"</style>", b"<noscript>", b"<xmp>",
    b"&amp;", b"&lt;", b"&#0;", b"&#xd800;", b"&", b"<", b">", b'"', b"'", b"`",
    b"\n---\n", b"---", b"\n", b"\r\n", b"\r", b"\t", b" ", b"\x00", b"\x01", b"\x0b", b"\x7f",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff", b"\xc3", b"\xe4\xb8", b"\x81\x30",
    b"[", b"]", b"(", b")", b"](", b"](javascript:alert(1))", b"<!--1726069142000-->",
    b"<!--99999999999999-->", b"------", b"<div><i>", b"</i></div>",
    b"Fri, 31 Dec 9999 23:59:59 -2359", b"Mon, 01 Jan 1965 00:00:00 GMT", b"31/12/2099 - 23:59",
    b"0001-01-01T00:00:00+05:00", b"2022-02-30", b"-0000", b"+2400", b"GMT",
    b"title: ", b"date: ", b"headimg: ", b"tags: [", b"&a ", b"*a", b"<<: *a", b"!!python/object:os.system",
    b"!!binary ", b"? ", b": ", b"- ", b"{{ 7*7 }}", b"{% for x in y %}", b"\xe4\xb9\x8c\xe5\x85\x8b\xe5\x85\xb0",
    b"http://[x", b"https://img.example.com/a.jpg", b"//evil.example/x", b"data:text/html,x",
    b"\xe2\x80\xae", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80",
]
REPEATABLE = [b"<div>", b"<br>", b"<b>", b"<blockquote>", b"<ul><li>", b"[", b"*a _b ",
              b"\xe4\xb9\x8c\xe5\x85\x8b\xe5\x85\xb0\xe3\x80\x82", b"a", b"\n", b"<p>x</p>",
              b"&amp;", b"<!--", b"](", b"<hr><div>\xe8\x8e\xb7\xe5\x8f\x96\xe6\x9b\xb4\xe5\xa4\x9aRSS\xef\xbc\x9a"]


def load_seeds() -> list[tuple[str, bytes]]:
    seeds = []
    for folder in SEED_DIRS:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.stat().st_size < 200_000:
                seeds.append((path.relative_to(ROOT).as_posix(), path.read_bytes()))
    return seeds


SEEDS = load_seeds()


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, bytes]:
    name, data = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 3) | st.integers(1, 8))):  # few, to publish more
        op = draw(st.integers(0, 10))
        at = draw(st.integers(0, len(buf)))
        if op == 0 and buf:  # flip some bits
            index = min(at, len(buf) - 1)
            buf[index] ^= draw(st.integers(1, 255))
        elif op in (1, 2, 3):  # insert a token
            buf[at:at] = draw(st.sampled_from(TOKENS))
        elif op == 4:  # delete a range
            buf[at:at + draw(st.integers(1, 200))] = b""
        elif op == 5:  # truncate
            del buf[at:]
        elif op == 6:  # splice a piece of another seed
            _, other = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
            start = draw(st.integers(0, len(other)))
            buf[at:at] = other[start:start + draw(st.integers(1, 2000))]
        elif op == 7:  # repeat a token many times: long lines, deep nesting
            token = draw(st.sampled_from(REPEATABLE))
            buf[at:at] = token * draw(st.sampled_from([10, 100, 1000, 10_000, 50_000]))
        elif op == 8:  # duplicate a range of the file itself
            length = draw(st.integers(1, 500))
            buf[at:at] = bytes(buf[at:at + length]) * draw(st.integers(2, 50))
        elif op == 9:  # change line endings
            buf = bytearray(bytes(buf).replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r"]))))
        else:  # re-encode
            encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "gb18030", "big5", "utf-8-sig"]))
            buf = bytearray(bytes(buf).decode("utf-8", "replace").encode(encoding, "replace"))
    return name, bytes(buf)


@dataclass
class Stats:
    examples: int = 0
    published: int = 0
    reported: int = 0
    slowest: float = 0.0
    bytes: int = 0
    builds: int = 0
    recent: list[tuple[str, bytes]] = field(default_factory=list)
    slow: list[tuple[str, bytes]] = field(default_factory=list)


def time_limit(data: bytes) -> float:
    """Seconds one read of `data` may take: 2 s plus 3 s per MB."""
    return 2 + 3 * len(data) / 1_000_000


def confirm_slow(name: str, data: bytes) -> None:
    """Raise FuzzFailure if reading `data` is slow three times in a row."""
    from generator.models import SourceFile
    from generator.parse import parse_bytes
    from tests.conftest import SETTINGS

    times = []
    for _ in range(3):
        started = time.monotonic()
        parse_bytes(SourceFile(name, data, "x"), SETTINGS)
        times.append(time.monotonic() - started)
        if times[-1] <= time_limit(data):
            return
    message = (f"slow: {min(times):.1f}s to read {len(data):,} bytes "
               f"(limit {time_limit(data):.1f}s)")
    raise FuzzFailure(f"{message}\n(input saved to {save_failure(name, data, message)})")


class FuzzFailure(AssertionError):
    hung = False


HANG_SECONDS = 60  # one input taking this long is a finding in itself


class _Hung(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hung()


def check(name: str, data: bytes, stats: Stats) -> None:
    """Read `data` as a build does; raise FuzzFailure on anything wrong."""
    from generator.models import ReadError, SourceFile
    from generator.normalize import normalize
    from generator.parse import INTERNAL_ERROR, parse_bytes
    from generator.readers import read_source
    from tests.conftest import SETTINGS

    digest = hashlib.sha256(data).hexdigest()
    _record_in_progress(name, data)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HANG_SECONDS)
    try:
        try:  # the layers under parse_bytes' safety net: only ReadError may escape
            normalize(read_source(SourceFile(name, data, digest)), digest, SETTINGS.normalize)
        except (ReadError, RecursionError):
            pass
        except _Hung:
            raise
        except Exception as exc:  # noqa: BLE001 - that is the finding
            raise FuzzFailure(f"{type(exc).__name__}: {exc}\n"
                              f"{traceback.format_exc(limit=-4)}") from None
        outcome = parse_bytes(SourceFile(name, data, digest), SETTINGS)
    except _Hung:
        message = f"hung: more than {HANG_SECONDS}s reading {len(data):,} bytes"
        failure = FuzzFailure(f"{message} (input saved to {save_failure(name, data, message)})")
        failure.hung = True
        raise failure from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    stats.examples += 1
    stats.bytes += len(data)
    stats.slowest = max(stats.slowest, elapsed)
    if elapsed > 2 * time_limit(data):  # both passes above together
        stats.slow.append((name, data))  # re-timed outside Hypothesis (timing is noisy)
    if (outcome.article is None) == (outcome.problem is None):
        raise FuzzFailure("neither published nor reported (or both)")
    if outcome.problem is not None:
        stats.reported += 1
        if not outcome.problem.reason.strip() or INTERNAL_ERROR in outcome.problem.reason:
            raise FuzzFailure(f"bad report: {outcome.problem.reason!r}")
    else:
        stats.published += 1
        _check_article(outcome)
    stats.recent.append((name, data))
    del stats.recent[:-150]


def _check_article(outcome: object) -> None:
    from generator.dates import EARLIEST, LATEST
    from generator.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, CONTROL_CHARS
    from tests.hostile.expectations import browser_url

    article = outcome.article  # type: ignore[attr-defined]
    body = outcome.body_html or ""  # type: ignore[attr-defined]
    problems = []
    if not article.title or article.title != " ".join(article.title.split()):
        problems.append(f"title {article.title[:60]!r}")
    if not SLUG.match(article.slug):
        problems.append(f"slug {article.slug!r}")
    if not EARLIEST <= article.published < LATEST or article.published.utcoffset():
        problems.append(f"published {article.published!r}")
    for url in (article.source_url, article.lead_image):
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            problems.append(f"url {url[:60]!r}")
    for text in (article.title, article.summary, body, article.lead_caption or "",
                 article.author or ""):
        if CONTROL_CHARS.search(text):
            problems.append(f"control character in {text[:40]!r}")
    if body:
        root = lxml_html.fragment_fromstring(body, create_parent="div",
                                             parser=lxml_html.HTMLParser(huge_tree=True))
        for el in root.iterdescendants():
            if not isinstance(el.tag, str):
                continue
            allowed = ALLOWED_ATTRIBUTES.get(el.tag, set()) | {"lang", "title", "rel", "loading",
                                                               "decoding", "referrerpolicy"}
            if el.tag not in ALLOWED_TAGS or not set(el.attrib) <= allowed:
                problems.append(f"<{el.tag} {dict(el.attrib)}> in the body")
            for attr in ("href", "src"):
                value = el.get(attr)
                parts = urlsplit(browser_url(value or ""))
                if value is not None and (parts.scheme not in ("http", "https", "mailto")
                                          or not (parts.netloc or parts.scheme == "mailto")):
                    problems.append(f"{attr}={value[:60]!r} in the body")
    if problems:
        raise FuzzFailure("; ".join(problems[:5]))


def build_and_audit(recent: list[tuple[str, bytes]]) -> None:
    """Build the recent mutants into a site and audit every page."""
    from dataclasses import replace

    from generator.pipeline import BuildOptions, build
    from tests.conftest import site_config
    from tests.hostile.expectations import audit_feed, audit_html

    with tempfile.TemporaryDirectory(prefix="fuzz-build-") as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        for number, (name, data) in enumerate(recent):
            (content / f"{number:04d}-{Path(name).name}").write_bytes(data)
        config = replace(site_config("https://example.org/sub/").without_scope(),
                         cache_dir=Path(tmp) / ".cache")
        try:
            report = build(BuildOptions(content, Path(tmp) / "out", ROOT, config, workers=1,
                                        clean=True, search=False))
        except Exception as exc:  # noqa: BLE001 - that is the finding
            kept = FAILURES / f"build-{time.strftime('%Y%m%d-%H%M%S')}"
            shutil.copytree(content, kept)
            raise FuzzFailure(f"the build failed on these inputs (kept in {kept}): "
                              f"{type(exc).__name__}: {exc}\n"
                              f"{traceback.format_exc(limit=-4)}") from None
        seen = {a.rel_path for a in report.articles} | {p.source_path for p in report.errors}
        seen |= {d.source_path for d in report.duplicates} | {o.source_path for o in report.out_of_scope}
        missing = {p.name for p in content.iterdir()} - seen
        if missing:
            raise FuzzFailure(f"build lost files: {sorted(missing)[:5]}")
        out = (Path(tmp) / "out").resolve()
        findings = []
        for page in out.rglob("*.html"):
            findings += audit_html(page.read_text(encoding="utf-8"),
                                   page.relative_to(out).as_posix(), "/sub/")
        findings += audit_feed((out / "feed.xml").read_text(encoding="utf-8"), "feed.xml", "/sub/")
        findings = [f for f in findings if "(external host)" not in f]
        if findings:
            raise FuzzFailure("unsafe page: " + "; ".join(findings[:5]))


IN_PROGRESS = FAILURES / f"in-progress-{os.getpid()}.bin"
_in_progress: dict[str, object] = {}


def _record_in_progress(name: str, data: bytes) -> None:
    """Keep the input being read in a file: if the process dies in native code
    (a segfault), the file holds the input that killed it."""
    handle = _in_progress.get("handle")
    if handle is None:
        FAILURES.mkdir(exist_ok=True)
        handle = _in_progress["handle"] = open(IN_PROGRESS, "wb")  # noqa: SIM115
    handle.seek(0)  # type: ignore[attr-defined]
    handle.truncate()  # type: ignore[attr-defined]
    handle.write(name.encode() + b"\n" + data)  # type: ignore[attr-defined]
    handle.flush()  # type: ignore[attr-defined]


def _forget_in_progress() -> None:
    handle = _in_progress.pop("handle", None)
    if handle is not None:
        handle.close()  # type: ignore[attr-defined]
        IN_PROGRESS.unlink(missing_ok=True)
        try:
            FAILURES.rmdir()  # only if nothing else is there
        except OSError:
            pass


def save_failure(name: str, data: bytes, message: str) -> Path:
    FAILURES.mkdir(exist_ok=True)
    path = FAILURES / f"{hashlib.sha256(data).hexdigest()[:16]}-{Path(name).name}"
    path.write_bytes(data)
    path.with_name(path.name + ".txt").write_text(f"seed: {name}\n{message}\n", encoding="utf-8")
    return path


def fuzz(seconds: float, build_every: float = 60.0, seed: int | None = None,
         quiet: bool = False) -> Stats:
    """Run until `seconds` have passed; raise FuzzFailure (after saving the
    shrunk input) on the first failure."""
    stats = Stats()
    deadline = time.monotonic() + seconds
    last_build = time.monotonic()
    rng = random.Random(seed)
    failure: dict[str, object] = {}

    while time.monotonic() < deadline:
        @settings(max_examples=150, deadline=None, database=None, derandomize=False,
                  phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
                  suppress_health_check=list(HealthCheck))
        @given(mutants())
        def one(mutant: tuple[str, bytes]) -> None:
            if failure.get("hung") or (time.monotonic() > deadline and stats.examples
                                       and not failure):
                return  # a hang is not shrunk: every try could take a minute
            name, data = mutant
            try:
                check(name, data, stats)
            except FuzzFailure as exc:
                failure["last"] = (name, data, str(exc))  # the shrunk one is the last
                failure["hung"] = exc.hung
                raise

        try:
            hypothesis_seed(rng.getrandbits(64))(one)()
        except Exception as exc:  # FuzzFailure, or Hypothesis' Flaky if it did not replay
            if "last" not in failure:
                raise
            name, data, message = failure["last"]  # type: ignore[misc]
            if not isinstance(exc, FuzzFailure):
                message = f"(did not always reproduce: {type(exc).__name__}) {message}"
            path = save_failure(name, data, message)
            raise FuzzFailure(f"{message}\n(input saved to {path})") from None
        while stats.slow:
            confirm_slow(*stats.slow.pop())
        if time.monotonic() - last_build > build_every and stats.recent:
            build_and_audit(stats.recent)
            stats.builds += 1
            last_build = time.monotonic()
        if not quiet:
            print(f"{stats.examples} examples ({stats.published} published, {stats.reported} "
                  f"reported), {stats.bytes / 1e6:.1f} MB, slowest {stats.slowest:.2f}s, "
                  f"{stats.builds} site builds", flush=True)
    if stats.recent:
        build_and_audit(stats.recent)
        stats.builds += 1
    _forget_in_progress()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--minutes", type=float, help="how long to run (default 5)")
    group.add_argument("--seconds", type=float)
    parser.add_argument("--build-every", type=float, default=60.0,
                        help="seconds between full site builds of recent mutants")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one)")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else 60 * (args.minutes or 5)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    faulthandler.enable()  # a crash in native code prints where it happened
    print(f"fuzzing for {seconds:.0f}s from {len(SEEDS)} seed files (seed {seed})", flush=True)
    started = time.monotonic()
    try:
        stats = fuzz(seconds, args.build_every, seed)
    except FuzzFailure as exc:
        print(f"FAILURE after {time.monotonic() - started:.0f}s:\n{exc}", file=sys.stderr)
        return 1
    print(f"no failure in {time.monotonic() - started:.0f}s: {stats.examples} inputs "
          f"({stats.published} published, {stats.reported} reported, "
          f"{stats.bytes / 1e6:.1f} MB), slowest {stats.slowest:.2f}s, "
          f"{stats.builds} site builds audited")
    return 0


if __name__ == "__main__":
    sys.exit(main())
