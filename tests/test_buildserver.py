"""The build server (buildserver.py, handoff.py): `build` commands handed to a
running server give the site a fresh process would, with the same output and
exit code, and a server never builds what is not its to build.

Real server processes, started and stopped through the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from generator import handoff
from generator.write import MANIFEST
from tests.conftest import ROOT
from tests.hostile.conftest import temp_config
from tests.test_incremental import make_article
from tests.test_reproducible import tree

pytestmark = pytest.mark.skipif(not handoff.available(), reason="the build server is Linux's")


class Project:
    """A settings file, content and output under tmp_path, driven through the CLI."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.config = temp_config(tmp_path)
        self.content = tmp_path / "content"
        shutil.copytree(ROOT / "content" / "articles", self.content)
        self.output = tmp_path / "public"

    def options(self) -> list[str]:
        return ["--config", str(self.config), "--content", str(self.content),
                "--output", str(self.output), "--no-search"]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "generator", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)

    def server(self, action: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("server", action, *self.options(), *extra)

    def build(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("build", *self.options(), *extra)

    def clean_build(self, output: Path) -> dict[str, bytes]:
        """The files of a clean build in its own process (the manifest aside)."""
        done = self.run("build", "--config", str(self.config), "--content", str(self.content),
                        "--output", str(output), "--no-search", "--clean", "--no-server")
        assert done.returncode == 0, done.stderr
        return pages(output)

    def builds_served(self) -> int | None:
        """How many builds the running server ran; None without a server."""
        facts = handoff.ask(str(self.config), "ping", timeout=60)
        return None if facts is None else int(facts["builds"])


def pages(output: Path) -> dict[str, bytes]:
    files = tree(output)
    files.pop(MANIFEST)
    return files


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = Project(tmp_path)
    yield made
    made.server("stop")


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_builds_handed_to_the_server_equal_a_clean_build_in_a_fresh_process(
        project: Project, tmp_path: Path) -> None:
    started = project.server("start")
    assert started.returncode == 0, started.stderr
    assert "build server ready" in started.stdout
    assert project.builds_served() == 0
    again = project.server("start")
    assert "already running" in again.stdout
    article = make_article(1, 12, "泽连斯基会见北约秘书长")
    (project.content / "new-article.md").write_text(article, encoding="utf-8")
    added = project.build()
    assert added.returncode == 0, added.stderr
    assert "6 articles" in added.stdout  # the summary comes back through the socket
    assert project.builds_served() == 1
    (project.content / "new-article.md").unlink()
    next(project.content.glob("*.txt")).unlink()
    assert project.build().returncode == 0
    assert project.builds_served() == 2
    assert pages(project.output) == project.clean_build(tmp_path / "clean")
    assert project.builds_served() == 2  # --no-server built in its own process
    stopped = project.server("stop")
    assert "stopped" in stopped.stdout
    assert project.builds_served() is None
    assert project.server("status").returncode == 1


def test_a_build_by_another_process_between_served_builds_is_taken_into_account(
        project: Project, tmp_path: Path) -> None:
    assert project.server("start").returncode == 0
    for number, day in ((1, 12), (2, 13)):
        (project.content / f"new-{number}.md").write_text(
            make_article(number, day, f"泽连斯基第{number}次会见北约秘书长"), encoding="utf-8")
    assert project.build("--no-server").returncode == 0  # the cache and site move on without it
    (project.content / "new-1.md").unlink()
    assert project.build().returncode == 0
    assert project.builds_served() == 1
    assert pages(project.output) == project.clean_build(tmp_path / "clean")


def test_ingest_hands_its_build_to_the_server(project: Project, tmp_path: Path) -> None:
    assert project.server("start").returncode == 0
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "scraped.txt").write_text(make_article(7, 20, "北约峰会讨论乌克兰"), encoding="utf-8")
    done = project.run("ingest", str(drop), "--config", str(project.config), "--content",
                       str(project.content), "--output", str(project.output))
    assert done.returncode == 0, done.stderr
    assert "1 filed" in done.stdout and "6 articles" in done.stdout
    assert project.builds_served() == 1
    filed = next(project.content.rglob("voa-8000007.*"))
    assert (project.output / "articles" / filed.stem / "index.html").is_file()


def test_output_and_exit_codes_come_back_from_the_server(project: Project) -> None:
    assert project.server("start").returncode == 0
    (project.content / "broken-front-matter.md").write_text(
        "---\ntitle: [unclosed\n---\n<p>乌克兰</p>\n", encoding="utf-8")
    strict = project.build("--strict")
    assert strict.returncode == 1
    assert "broken-front-matter.md" in strict.stderr
    assert "--strict: 1 file(s) with errors" in strict.stderr
    wrong = project.build("--no-such-option")
    assert wrong.returncode == 2
    assert "unrecognized arguments: --no-such-option" in wrong.stderr
    assert project.builds_served() == 2  # both were the server's, and it is still up


def test_a_server_refuses_builds_of_other_settings(project: Project, tmp_path: Path) -> None:
    assert project.server("start").returncode == 0
    (tmp_path / "other").mkdir()
    other = temp_config(tmp_path / "other")
    argv = ["build", "--config", str(other), "--content", str(project.content),
            "--output", str(tmp_path / "other-output"), "--no-search"]
    assert handoff.request_build(str(project.config), argv) is None
    assert handoff.request_build(str(project.config), [*argv[:2], str(project.config),
                                                       *argv[3:], "--no-server"]) is None
    assert not (tmp_path / "other-output").exists()
    assert project.builds_served() == 0


def test_a_server_running_other_code_refuses_and_stops(project: Project,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert project.server("start").returncode == 0
    monkeypatch.setattr(handoff, "code_stamp", lambda: "a generator edited since")
    assert handoff.hand_off(["build", *project.options()]) is None
    assert wait_for(lambda: project.builds_served() is None)


def test_a_server_stops_after_its_idle_minutes(project: Project) -> None:
    assert project.server("start", "--idle-minutes", "0.02").returncode == 0  # 1.2 s
    assert wait_for(lambda: project.builds_served() is None)


def test_a_build_without_a_server_runs_in_its_own_process(project: Project) -> None:
    assert project.builds_served() is None
    done = project.build()
    assert done.returncode == 0, done.stderr
    assert "5 articles" in done.stdout
    assert (project.output / "index.html").exists()


def test_a_server_whose_warm_up_fails_says_why_and_is_not_left_running(
        project: Project) -> None:
    failed = project.run("server", "start", "--config", str(project.config), "--content",
                         str(project.content), "--output", str(project.content))
    assert failed.returncode == 1
    assert "did not start" in failed.stderr
    assert "content folder" in failed.stderr  # the warm-up build's own error, from the log
    assert project.builds_served() is None
