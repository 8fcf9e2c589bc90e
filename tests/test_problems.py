"""Files that cannot be published: each gives an error with line and an actionable reason."""

from __future__ import annotations

import pytest

from generator.models import Severity
from tests.conftest import parse_fixture


@pytest.mark.parametrize("name, line, words", [
    ("broken_yaml.md", 3, ["not valid YAML", "quote"]),
    ("invalid_date.md", 10, ["Invalid Date", "publication time"]),
    ("missing_title.md", None, ["missing title", "title:"]),
    ("empty_body.txt", 4, ["empty body"]),
    ("binary_file.png", None, ["binary"]),
    ("invalid_utf8.txt", 2, ["UTF-8"]),
    ("unrecognised_format.txt", 1, ["format not recognised"]),
])
def test_unpublishable_file_reports_line_and_reason(name: str, line: int | None,
                                                    words: list[str]) -> None:
    outcome = parse_fixture(f"problems/{name}")
    assert outcome.article is None
    problem = outcome.problem
    assert problem is not None
    assert problem.severity is Severity.ERROR
    assert problem.source_path == f"problems/{name}"
    if line is not None:
        assert problem.line == line
    for word in words:
        assert word in problem.reason


def test_yaml_aliases_are_refused() -> None:
    from generator.models import SourceFile
    from generator.parse import parse_bytes
    from tests.conftest import SETTINGS
    bomb = ("---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\ntitle: t\n"
            "date: 2022-03-01T00:00:00Z\n---\n<p>乌克兰</p>\n").encode()
    outcome = parse_bytes(SourceFile("bomb.md", bomb, "x"), SETTINGS)
    assert outcome.article is None and "aliases" in outcome.problem.reason


def test_yaml_object_construction_is_refused() -> None:
    from generator.models import SourceFile
    from generator.parse import parse_bytes
    from tests.conftest import SETTINGS
    evil = ("---\ntitle: !!python/object/apply:os.system ['echo pwned']\n"
            "date: 2022-03-01T00:00:00Z\n---\n<p>乌克兰</p>\n").encode()
    outcome = parse_bytes(SourceFile("evil.md", evil, "x"), SETTINGS)
    assert outcome.article is None and "YAML" in outcome.problem.reason
