"""`serve --watch`: builds, serves under the sub-path, rebuilds on change, reloads pages."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_incremental import make_article


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def wait_for(predicate, timeout: float = 60.0, every: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    config = tmp_path / "site.yaml"
    config.write_text((ROOT / "site.yaml").read_text(encoding="utf-8").replace(
        "taxonomy: content/tags.yaml", f"taxonomy: {ROOT / 'content' / 'tags.yaml'}"),
        encoding="utf-8")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "generator", "serve", "--watch", "--port", str(port),
         "--content", str(content), "--config", str(config)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/ru-ua-timeline/"
    try:
        wait_for(lambda: _up(base))
        yield base, content, tmp_path / "serve.log"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _up(base: str) -> bool:
    try:
        return fetch(base)[0] == 200
    except OSError:
        return False


def test_serves_under_the_sub_path_with_live_reload_script(server) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = server
    status, page = fetch(base + "articles/voa-6786297/")
    assert status == 200 and "美国领导的联盟开会" in page
    assert "__livereload" in page
    assert fetch(base + "no/such/page/")[0] == 404


def test_new_file_is_rebuilt_and_open_pages_are_told_to_reload(server) -> None:  # type: ignore[no-untyped-def]
    base, content, log = server
    stream = urllib.request.urlopen(base + "__livereload", timeout=30)
    first = stream.readline().decode()
    assert first.startswith("data: ")
    stream.readline()
    (content / "new.txt").write_text(make_article(7, 14, "泽连斯基会见北约秘书长"), encoding="utf-8")
    wait_for(lambda: fetch(base + "articles/voa-8000007/")[0] == 200)
    event = stream.readline().decode()
    assert event.startswith("data: ") and event != first
    stream.close()
    assert "泽连斯基会见北约秘书长" in fetch(base)[1]
    # The log says when the pages went live, then the rebuild's summary.
    wait_for(lambda: re.search(r"\d+ change\(s\): pages live after \d+\.\d\d s\n"
                               r"  6 articles, \d+ pages rendered", log.read_text()))


def test_a_burst_of_files_is_batched(server) -> None:  # type: ignore[no-untyped-def]
    base, content, log = server
    rebuilds_before = log.read_text().count("change(s):")
    for number in range(20):
        (content / f"burst{number}.txt").write_text(
            make_article(200 + number, 1 + number, f"第{number}篇：乌克兰和谈"), encoding="utf-8")
    wait_for(lambda: fetch(base + "articles/voa-8000219/")[0] == 200)
    time.sleep(1.0)
    rebuilds = log.read_text().count("change(s):") - rebuilds_before
    assert 1 <= rebuilds <= 3, log.read_text()


def test_search_index_catches_up_in_the_background(server) -> None:  # type: ignore[no-untyped-def]
    base, content, log = server
    wait_for(lambda: fetch(base + "pagefind/pagefind.js")[0] == 200, timeout=120)
    (content / "late.txt").write_text(make_article(77, 20, "拉夫罗夫谈粮食协议"), encoding="utf-8")
    # The page is up without waiting for the index...
    wait_for(lambda: fetch(base + "articles/voa-8000077/")[0] == 200)
    # ...and the index is refreshed after that rebuild.
    def indexed_after_rebuild() -> bool:
        text = log.read_text()
        # The page is served before the rebuild's summary line is printed.
        return "change(s):" in text and "search index updated" in text[text.rindex("change(s):"):]
    wait_for(indexed_after_rebuild, timeout=120)
