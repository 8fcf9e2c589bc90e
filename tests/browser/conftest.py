"""Browser tests: the built site served under a sub-path, driven in Debian's Chromium.

The site is built once per session from content/articles into a temporary
folder for http://127.0.0.1:<free port>/repo/ and served by generator.serve.
Every request the page makes to anywhere but 127.0.0.1 is aborted (the
network is closed; article images are remote). A missing Chromium, Java or
npm checker FAILS these tests: they must not pass by being skipped.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import replace
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from generator.pipeline import BuildOptions, build
from generator.serve import make_server
from tests.chromium import launched_chromium, serving
from tests.conftest import ROOT, site_config

ARTIFACTS = ROOT / "test-artifacts"
NODE_MODULES = ROOT / "node_modules"
SUB_PATH = "/repo/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Site:
    def __init__(self, output: Path, base_url: str) -> None:
        self.output = output
        self.base_url = base_url

    def url(self, path: str = "") -> str:
        return self.base_url + path.lstrip("/")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("browser-site")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}{SUB_PATH}"
    config = replace(site_config(base_url), cache_dir=root / ".cache")
    output = root / "public"
    report = build(BuildOptions(ROOT / "content" / "articles", output, ROOT, config, workers=1))
    assert len(report.articles) == 5 and not report.errors
    assert (output / "pagefind" / "pagefind.js").is_file(), "search index not built"
    with serving(make_server(output.resolve(), config, "127.0.0.1", port)):
        yield Site(output.resolve(), base_url)


# Module scope: Playwright's sync API allows one instance at a time, and other
# test packages (tests/hostile) start their own after these modules are done.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with launched_chromium("browser tests") as instance:
        yield instance


def _local_only(route: object) -> None:
    host = urlsplit(route.request.url).hostname  # type: ignore[attr-defined]
    if host == "127.0.0.1":
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


@pytest.fixture
def context(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                              locale="zh-CN")
    ctx.route("**/*", _local_only)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: object) -> Iterator[object]:
    tab = context.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    assert not errors, f"JavaScript errors: {errors}"


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; .ci/run installs it — browser checks must run")
    return found


def node_tool(*parts: str) -> Path:
    path = NODE_MODULES.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: run `npm ci` (make test does) so the checkers "
                    "from package.json are installed")
    return path
