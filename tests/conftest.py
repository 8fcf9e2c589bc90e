"""Shared helpers: parse a fixture, build a site into a temporary folder."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Callable

import pytest

from generator.config import Config, load_config
from generator.models import SourceFile
from generator.normalize import NormalizeSettings
from generator.parse import ParseOutcome, ParseSettings, parse_bytes
from generator.pipeline import BuildOptions, build
from generator.report import BuildReport

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SETTINGS = ParseSettings(NormalizeSettings("Asia/Shanghai", 120, 400), (),
                         (ROOT / "content" / "tags.yaml").read_text(encoding="utf-8"), 5_000_000)


def parse_fixture(rel: str) -> ParseOutcome:
    data = (FIXTURES / rel).read_bytes()
    return parse_bytes(SourceFile(rel, data, hashlib.sha256(data).hexdigest()), SETTINGS)


def site_config(base_url: str = "https://example.org/", **changes: object) -> Config:
    from dataclasses import replace
    config = load_config(ROOT / "site.yaml").with_base_url(base_url)
    return replace(config, **changes) if changes else config


@pytest.fixture
def build_site(tmp_path: Path) -> Callable[..., BuildReport]:
    """Build `content` (default: the project's articles) into tmp_path/public."""
    def run(content: Path | None = None, config: Config | None = None,
            output: Path | None = None) -> BuildReport:
        from dataclasses import replace
        config_used = replace(config or site_config(), cache_dir=tmp_path / ".cache")
        options = BuildOptions(content or ROOT / "content" / "articles",
                               output or tmp_path / "public", ROOT, config_used, workers=1,
                               search=False)
        return build(options)
    return run


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the project's articles."""
    target = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", target)
    return target
