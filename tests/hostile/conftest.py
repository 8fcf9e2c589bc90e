"""One build of every hostile input, shared by the static and the browser checks.

The fixtures (plus the generated big/odd inputs and a file whose name is not
UTF-8) are copied into a temporary content folder and built the way a user
builds: `python -m generator build --no-scope --report ...`, with a copy of
site.yaml so the cache stays in the temporary folder. The base URL is the
127.0.0.1 address the browser test serves the site on, under a sub-path.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.hostile.expectations import FIXTURES, TEXT, generated, voa_file

SUB_PATH = "/hostile/"
# A name that is not valid UTF-8 (GBK bytes for 中文, as Windows zips write them).
RAW_NAME = b"\xd6\xd0\xce\xc4-gbk-name.txt"
SHOWN_NAME = "\\xd6\\xd0\\xce\\xc4-gbk-name.txt"
# A name that is markup (names only reach the report, never a page or a path).
MARKUP_NAME = '"><img src=x onerror=alert(1)>.txt'
# Over the 5,000,000-byte max_input_bytes of site.yaml.
OVERSIZE_NAME = "voa_over_max_input_bytes.txt"


@dataclass(frozen=True)
class HostileSite:
    content: Path
    output: Path  # resolved generation folder
    config: Path
    report: dict[str, Any]
    base_url: str
    port: int
    seconds: float

    @property
    def base_path(self) -> str:
        return SUB_PATH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def temp_config(folder: Path, **changes: Any) -> Path:
    """site.yaml with its project paths made absolute, so the cache (and
    anything else relative) lives in `folder`."""
    raw = yaml.safe_load((ROOT / "site.yaml").read_text(encoding="utf-8"))
    for key, default in (("taxonomy", "content/tags.yaml"), ("pages", "content/pages")):
        raw[key] = str(ROOT / raw.get(key, default))
    raw.update(changes)
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run_build(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", "build", "--quiet", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> HostileSite:
    import time

    root = tmp_path_factory.mktemp("hostile")
    content = root / "content"
    shutil.copytree(FIXTURES, content)
    for name, (data, _) in generated().items():
        (content / name).write_bytes(data)
    script_tags = (FIXTURES / "voa_body_script_tags.txt").read_bytes()
    with open(os.path.join(os.fsencode(content), RAW_NAME), "wb") as handle:
        handle.write(script_tags.replace(b"8100001", b"8100099")
                     .replace("脚本标签".encode(), b"GBK name"))
    (content / MARKUP_NAME).write_bytes(script_tags.replace(b"8100001", b"8100098")
                                        .replace("脚本标签".encode(), b"markup name"))
    (content / OVERSIZE_NAME).write_bytes(voa_file(8100097, "乌克兰：超过大小上限", TEXT * 60_000))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}{SUB_PATH}"
    config = temp_config(root)
    report_path = root / "report.json"
    started = time.monotonic()
    done = run_build("--content", str(content), "--output", str(root / "public"),
                     "--config", str(config), "--base-url", base_url, "--no-scope",
                     "--report", str(report_path))
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return HostileSite(content, (root / "public").resolve(), config, report, base_url, port,
                       seconds)
