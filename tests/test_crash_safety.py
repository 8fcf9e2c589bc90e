"""Crash safety: a build killed with SIGKILL at any moment never corrupts the site.

Two input sets A and B (the real articles plus synthetic ones; B changes a
third of them, drops some and adds others) are built once each from scratch
to get the two snapshots. Then, in a separate output folder, builds that
switch between A and B are killed (SIGKILL to the whole process group, so
Pagefind dies too) after a random delay, many times. After every kill the
output folder (followed through its symlink) must hold exactly the previous
site or exactly the new one; the next build must then finish the job and
give exactly the new site.

Pagefind writes its filter and metadata indexes in an order that changes
from run to run (upstream issue Pagefind #638), so under pagefind/ only the
page fragments are compared byte for byte; the rest must be present and
consistent (the entry file names a metadata file that exists).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from generator.write import MANIFEST
from tests.conftest import ROOT
from tests.hostile.conftest import temp_config

SYNTHETIC = 60  # with the real articles, a build takes a second or two
ITERATIONS = 30
TIME_BUDGET = 80.0  # seconds for the kill loop; fewer iterations (at least 12) on a slow machine
_VARYING = re.compile(r"^pagefind/(?:filter/.*|index/.*|.*\.pf_meta|pagefind-entry\.json)$")


def _sentences() -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "content" / "articles").iterdir()):
        text = re.sub(r"<[^>]+>", "\n", path.read_text(encoding="utf-8"))
        found += [s.strip() + "。" for s in re.split(r"[。\n]", text)
                  if 12 <= len(s.strip()) <= 120 and not re.search(r"[\[\]()<>:=/*_`]", s)]
    return found


def synthetic_articles(count: int, variant: str = "a", seed: int = 7,
                       first: int = 0) -> dict[str, bytes]:
    """`count` deterministic VOA feed-markdown articles (rel path → bytes) made of
    sentences from the real articles. A variant other than "a" changes every
    third one (title and body), so the same rel path gets new bytes."""
    pool = _sentences()
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    files: dict[str, bytes] = {}
    for index in range(first, first + count):
        rng = random.Random(f"{seed}:{index}")
        vid = 9_000_000 + index
        when = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        title = f"乌克兰局势综述第{index}号：" + rng.choice(pool)[:30]
        body = "".join(f"<p>{rng.choice(pool)}{rng.choice(pool)}</p>"
                       for _ in range(rng.randint(3, 8)))
        if variant != "a" and index % 3 == 0:
            title += f"（{variant}版更新）"
            body += f"<p>更新：{rng.choice(pool)}</p>"
        text = (f"<!--{int(when.timestamp() * 1000)}-->\n[{title}]"
                f"(https://www.voachinese.com/a/synthetic/{vid}.html)\n------\n\n"
                f"<div><i>{format_datetime(when, usegmt=True)}</i></div>{body}\n")
        files[f"synthetic/{index // 50:02d}/{vid}.txt"] = text.encode("utf-8")
    return files


def write_content(folder: Path, files: dict[str, bytes], like: Path | None = None) -> None:
    """Write `files` plus the real articles into `folder`; a file with the same
    bytes as in `like` is copied from there with its mtime, as an unchanged file
    keeps its mtime in a real content folder."""
    shutil.copytree(ROOT / "content" / "articles", folder)
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        twin = like / rel if like is not None else None
        if twin is not None and twin.is_file() and twin.read_bytes() == data:
            shutil.copy2(twin, path)
        else:
            path.write_bytes(data)


def site_state(output: Path) -> dict[str, object]:
    """What a visitor can get from the site, comparable between builds: every
    file's bytes (the manifest and Pagefind's varying indexes aside: those must
    just be there and consistent), following the output symlink."""
    folder = output.resolve()
    state: dict[str, object] = {}
    varying: dict[str, int] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST:
            continue
        if _VARYING.match(rel):
            kind = rel.rsplit("/", 1)[0] if "/" in rel[len("pagefind/"):] else rel.split("_")[0]
            varying[kind] = varying.get(kind, 0) + 1
            continue
        state[rel] = path.read_bytes()
    if (folder / "pagefind" / "pagefind-entry.json").exists():
        entry = json.loads((folder / "pagefind" / "pagefind-entry.json").read_text())
        for language in entry["languages"].values():
            assert (folder / "pagefind" / f"pagefind.{language['hash']}.pf_meta").is_file()
    state["<pagefind indexes>"] = tuple(sorted(varying.items()))
    return state


def _popen_build(content: Path, output: Path, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "build", "--quiet", "--content", str(content),
         "--output", str(output), "--config", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _finish(content: Path, output: Path, config: Path) -> float:
    started = time.monotonic()
    process = _popen_build(content, output, config)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode(errors="replace")[-3000:]
    return time.monotonic() - started


def _describe(state: dict[str, object], other: dict[str, object]) -> str:
    missing = sorted(set(other) - set(state))[:5]
    extra = sorted(set(state) - set(other))[:5]
    changed = sorted(k for k in set(state) & set(other) if state[k] != other[k])[:5]
    return f"missing {missing}, extra {extra}, different {changed}"


def test_killed_builds_leave_the_old_or_new_site_and_the_next_build_finishes(
        tmp_path: Path) -> None:
    rng = random.Random(20240911)
    config = temp_config(tmp_path)
    set_a = synthetic_articles(SYNTHETIC, "a")
    set_b = {rel: data for n, (rel, data) in enumerate(synthetic_articles(SYNTHETIC, "b").items())
             if n % 10 != 5}  # B drops a tenth of A...
    set_b.update(synthetic_articles(15, "b", first=SYNTHETIC))  # ...and adds others
    content = {"A": tmp_path / "content-a", "B": tmp_path / "content-b"}
    write_content(content["A"], set_a)
    write_content(content["B"], set_b, like=content["A"])

    snapshots = {}
    for name in ("A", "B"):
        _finish(content[name], tmp_path / f"reference-{name}", config)
        snapshots[name] = site_state(tmp_path / f"reference-{name}")
    assert snapshots["A"] != snapshots["B"]

    output = tmp_path / "public"
    # The very first build, killed: there is no site yet, or the whole new one.
    process = _popen_build(content["A"], output, config)
    time.sleep(rng.uniform(0.3, 1.5))
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not output.exists() or site_state(output) == snapshots["A"]
    full = _finish(content["A"], output, config)
    assert site_state(output) == snapshots["A"]

    live, outcomes = "A", {"old": 0, "new": 0}
    started = time.monotonic()
    for iteration in range(ITERATIONS):
        if time.monotonic() - started > TIME_BUDGET and iteration >= 12:
            break
        target = "B" if live == "A" else "A"
        process = _popen_build(content[target], output, config)
        time.sleep(rng.uniform(0.3, full * 1.1))  # the first 0.3 s is Python starting
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        state = site_state(output)
        if state == snapshots[live]:
            outcomes["old"] += 1
        else:
            assert state == snapshots[target], (
                f"iteration {iteration}: killed {target} build left a mixed site: vs old "
                f"{_describe(state, snapshots[live])}; vs new {_describe(state, snapshots[target])}")
            outcomes["new"] += 1
        assert not list(output.resolve().rglob("*.timeline-tmp"))
        full = max(0.5, _finish(content[target], output, config))
        assert site_state(output) == snapshots[target], f"iteration {iteration}: not finished"
        live = target
    # The kills landed both before and after the switch, or the test proved little.
    print(f"{sum(outcomes.values())} killed builds: {outcomes}")
    assert outcomes["old"] >= 3, outcomes
    generations = sorted(p.name for p in output.parent.glob(f".{output.name}.gens/*")
                         if p.is_dir())
    assert generations == ["a", "b"]
