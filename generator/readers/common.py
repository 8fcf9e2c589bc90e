"""Pieces every reader shares: front matter splitting and safe YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from generator.models import ReadError

_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)
# YAML larger than this is not front matter someone wrote by hand.
MAX_FRONT_MATTER_CHARS = 64_000


# libyaml's loader when available: parsing front matter is a large share of
# reading a Hexo file, and the C loader is an order of magnitude faster.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The C loader recurses once per level of nesting without Python's recursion
# guard: about 25,000 nested "[" or "- " (which fit in MAX_FRONT_MATTER_CHARS)
# overflow the C stack and kill the process. Front matter nests 2–3 levels;
# deeper than this is refused before the loader sees it.
MAX_YAML_NESTING = 100
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_BLOCK_INDICATORS = re.compile(r"^[ \t]*(?:[-?:][ \t]+){2,}", re.MULTILINE)
# The same at the start of every later line (after a "\n", as "^" above):
# a pattern that starts with a literal is searched for quickly, where "^"
# is tried at every position of the text.
_LATER_BLOCK_INDICATORS = re.compile(r"\n[ \t]*(?:[-?:][ \t]+){2,}")


def _nesting(yaml_text: str) -> int:
    """An upper bound on how deep the YAML nests: open flow brackets plus the
    most block indicators ('- - - x') on one line. Brackets inside quoted
    strings count too, which only matters for absurd front matter."""
    depth = deepest = 0
    if "[" in yaml_text or "{" in yaml_text:  # without an opening one, depth stays 0
        for bracket in _FLOW_BRACKETS.finditer(yaml_text):
            depth = depth + 1 if bracket.group() in "[{" else max(0, depth - 1)
            deepest = max(deepest, depth)
    return deepest + _most_block_indicators(yaml_text)


def _most_block_indicators(yaml_text: str) -> int:
    """The most block indicators at the start of one line, counting only
    lines with two or more (what _BLOCK_INDICATORS finds); 0 if none has."""
    first = _BLOCK_INDICATORS.match(yaml_text)
    counts = [len(m.group().split()) for m in _LATER_BLOCK_INDICATORS.finditer(yaml_text)]
    if first is not None:
        counts.append(len(first.group().split()))
    return max(counts, default=0)


def _refuse_aliases(node: yaml.Node) -> None:
    """Archivers never write anchors or aliases, and nested aliases are the
    classic way to make a small file expand without bound: a node reached
    twice in the composed tree is an alias, and the file is refused."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in front matter",
                current.start_mark)
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _compose_and_construct(yaml_text: str) -> tuple[Any, Any]:
    loader = _LOADER(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if "*" in yaml_text:  # an alias is written '*name': without one, no node repeats
            _refuse_aliases(node)
        try:
            return node, _construct(loader, node)
        except (ValueError, TypeError, OverflowError) as exc:
            # PyYAML lets these out for a value it recognises but cannot build,
            # such as the date 2022-02-30: report them as a YAML error there.
            raise yaml.constructor.ConstructorError(
                None, None, f"{exc} (a date or number that does not exist?)",
                _unbuildable(node).start_mark) from exc
    finally:
        loader.dispose()


_TAG = "tag:yaml.org,2002:"
# The scalar tags whose SafeConstructor functions build the value at once
# (those of sequences and mappings are generators it runs later).
_SCALAR_TAGS = frozenset(_TAG + name for name in
                         ("null", "bool", "int", "float", "binary", "timestamp", "str"))
# Mapping keys that make SafeConstructor rewrite the mapping's node first.
_MERGE_OR_VALUE = frozenset((_TAG + "merge", _TAG + "value"))


class _NotPlain(Exception):
    """The node holds something _plain_value leaves to the loader."""


def _construct(loader: Any, node: yaml.Node) -> Any:
    """loader.construct_document(node), most of it skipped for plain front
    matter: PyYAML's constructor makes every mapping and sequence through a
    generator it runs later and looks every node up twice, about half of
    reading a Hexo file's header. On anything else, or on any error, the
    loader constructs the whole document itself, so what comes back (or is
    raised, and in which order) is what it gives."""
    try:
        return _plain_value(loader, node)
    except Exception:
        return loader.construct_document(node)


def _plain_value(loader: Any, node: yaml.Node) -> Any:
    """The value SafeConstructor builds from a tree (no node reached twice:
    see _refuse_aliases) of mappings with scalar keys, sequences and scalars
    of the standard tags, by the same scalar functions; raise _NotPlain
    for any other node."""
    tag = node.tag
    kind = type(node)
    if kind is yaml.ScalarNode and tag in _SCALAR_TAGS:
        return node.value if tag == _TAG + "str" else loader.yaml_constructors[tag](loader, node)
    if kind is yaml.SequenceNode and tag == _TAG + "seq":
        return [_plain_value(loader, item) for item in node.value]
    if kind is yaml.MappingNode and tag == _TAG + "map":
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            # Scalar keys of these tags construct to hashable values.
            if type(key_node) is not yaml.ScalarNode or key_node.tag in _MERGE_OR_VALUE:
                raise _NotPlain
            key = _plain_value(loader, key_node)
            mapping[key] = _plain_value(loader, value_node)
        return mapping
    raise _NotPlain


def _unbuildable(node: yaml.Node) -> yaml.Node:
    """The top-level value that cannot be constructed (or the whole document)."""
    if isinstance(node, yaml.MappingNode):
        for _, value in node.value:
            probe = _LOADER("")
            try:
                probe.construct_document(value)
            except (ValueError, TypeError, OverflowError):
                return value
            except yaml.YAMLError:
                pass
            finally:
                probe.dispose()
    return node


@dataclass(frozen=True)
class FrontMatter:
    data: dict[str, Any]
    body: str
    body_line: int  # 1-based line where the body starts
    first_line: int  # 1-based line of the opening fence
    field_lines: dict[str, int]


def split_front_matter(text: str) -> FrontMatter | None:
    """Split a leading `---` YAML block (blank lines before it allowed, as Hexo
    archivers write one) from the body. None when the text has no such block."""
    stripped = text.lstrip("\n \t")
    lead = text[: len(text) - len(stripped)]
    if not stripped.startswith("---"):
        return None
    opening = _FENCE.match(stripped)
    if opening is None:
        return None
    closing = _FENCE.search(stripped, opening.end())
    first_line = lead.count("\n") + 1
    if closing is None:
        raise ReadError("front matter opened with '---' is never closed; add a line "
                        "'---' after the last field", first_line)
    yaml_text = stripped[opening.end(): closing.start()]
    data, field_lines = parse_yaml(yaml_text, first_line)
    rest = stripped[closing.end():]
    body = rest.lstrip("\n")
    body_line = text[: len(text) - len(body)].count("\n") + 1
    return FrontMatter(data, body, body_line, first_line, field_lines)


def parse_yaml(yaml_text: str, fence_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse front matter YAML safely; return the mapping and each key's line."""
    if len(yaml_text) > MAX_FRONT_MATTER_CHARS:
        raise ReadError(f"front matter is {len(yaml_text)} characters long; this is not a "
                        "hand-written header — check the file", fence_line)
    if _nesting(yaml_text) > MAX_YAML_NESTING:
        raise ReadError(f"front matter nests lists or mappings more than {MAX_YAML_NESTING} "
                        "deep; this is not a hand-written header — check the file",
                        fence_line)
    try:
        node, data = _compose_and_construct(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = fence_line + mark.line if mark is not None else fence_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ReadError(f"front matter is not valid YAML: {problem}; fix the YAML "
                        "(quote titles that contain ':' or quotes)", line) from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ReadError("front matter must be a mapping of 'key: value' lines",
                        fence_line + 1)
    lines = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = fence_line + key_node.start_mark.line
    return {str(k): v for k, v in data.items()}, lines


def text_field(data: Mapping[str, Any], key: str) -> str | None:
    """A front matter value as stripped text, or None when absent or empty."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return None
    text = str(value).strip()
    return text or None


def list_field(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A front matter list (or single value) as a tuple of non-empty strings."""
    value = data.get(key)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(str(item).strip() for item in items
                 if item is not None and not isinstance(item, (list, dict)) and str(item).strip())
