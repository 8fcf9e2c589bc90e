"""`ingest`: new files are validated, filed under stable names, rejects reported; twice is safe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "articles", content)
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(FIXTURES / "voa" / "feed_markdown_with_footer.txt", drop / "scraped-001.txt")
    shutil.copy(FIXTURES / "aljazeera" / "hexo_blank_first_line.md", drop / "aj.md")
    shutil.copy(FIXTURES / "problems" / "invalid_date.md", drop / "bad.md")
    shutil.copy(content / "000_e398a62aa10370be.txt", drop / "again.txt")
    config = tmp_path / "site.yaml"
    config.write_text((ROOT / "site.yaml").read_text(encoding="utf-8").replace(
        "taxonomy: content/tags.yaml", f"taxonomy: {ROOT / 'content' / 'tags.yaml'}"),
        encoding="utf-8")
    return content, drop, config


def test_ingest_files_good_articles_and_reports_the_rest(tmp_path: Path) -> None:
    content, drop, config = setup(tmp_path)
    out, report = tmp_path / "public", tmp_path / "report.json"
    result = run("ingest", str(drop), "--content", str(content), "--output", str(out),
                 "--config", str(config), "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert (content / "2022" / "09" / "voa-6759001.txt").is_file()
    aj = list((content / "2022" / "10").glob("aljazeera-*.md"))
    assert len(aj) == 1
    assert not (drop / "scraped-001.txt").exists() and not (drop / "aj.md").exists()
    # The reject stays where it was, with its reason; the exact duplicate is skipped.
    assert (drop / "bad.md").exists()
    assert "rejected: bad.md:" in result.stderr and "Invalid Date" in result.stderr
    assert "again.txt has the same bytes as" in result.stdout
    published = {a["permalink"] for a in json.loads(report.read_text())["articles"]}
    assert "/ru-ua-timeline/articles/voa-6759001/" in published
    assert (out / "articles" / "voa-6759001" / "index.html").is_file()


def test_ingest_twice_changes_nothing(tmp_path: Path) -> None:
    content, drop, config = setup(tmp_path)
    args = ["--content", str(content), "--output", str(tmp_path / "public"), "--config",
            str(config)]
    run("ingest", str(drop), *args)
    before = sorted(p.relative_to(content).as_posix() for p in content.rglob("*"))
    second = run("ingest", str(drop), *args)
    assert second.returncode == 0
    assert "0 filed" in second.stdout and "1 rejected" in second.stdout
    assert sorted(p.relative_to(content).as_posix() for p in content.rglob("*")) == before


def test_rescrape_of_a_filed_article_is_kept_beside_it_and_reported_duplicate(
        tmp_path: Path) -> None:
    content, drop, config = setup(tmp_path)
    args = ["--content", str(content), "--output", str(tmp_path / "public"), "--config",
            str(config), "--report", str(tmp_path / "r.json")]
    run("ingest", str(drop), *args)
    rescrape = (FIXTURES / "voa" / "feed_markdown_with_footer.txt").read_text(encoding="utf-8")
    (drop / "later.txt").write_text(rescrape.replace("<!--1664000000000-->",
                                                     "<!--1664009999000-->"), encoding="utf-8")
    run("ingest", str(drop), *args)
    filed = sorted(p.name for p in (content / "2022" / "09").iterdir())
    assert filed[0] == "voa-6759001.txt" and filed[1].startswith("voa-6759001~")
    duplicates = json.loads((tmp_path / "r.json").read_text())["duplicates"]
    assert [d["permalink"] for d in duplicates] == ["/ru-ua-timeline/articles/voa-6759001/"]
