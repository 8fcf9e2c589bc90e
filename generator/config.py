"""Site settings from site.yaml, validated once into a frozen Config."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from generator.related import RelatedRules, SameEventRules

DEFAULT_KEYWORDS = (
    "乌克兰", "烏克蘭", "俄罗斯", "俄羅斯", "俄乌", "俄烏", "基辅", "基輔", "莫斯科",
    "泽连斯基", "澤連斯基", "普京", "克里姆林宫", "克里姆林宮", "北约", "北約",
    "顿巴斯", "頓巴斯", "克里米亚", "克里米亞",
)


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Scope:
    enabled: bool = True
    start: date = date(2022, 1, 1)
    end: date = date(2024, 12, 31)
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS


@dataclass(frozen=True)
class Config:
    title: str = "俄乌外交时间线"
    description: str = "2022–2024 年俄乌战争外交报道时间线：美国之音与半岛电视台中文报道对照。"
    base_url: str = "http://localhost:8000/"
    language: str = "zh-Hans"
    timezone: str = "Asia/Shanghai"
    page_size: int = 50
    feed_size: int = 50
    summary_chars: int = 120
    reading_chars_per_minute: int = 400
    max_input_bytes: int = 5_000_000
    scope: Scope = field(default_factory=Scope)
    related: RelatedRules = field(default_factory=RelatedRules)
    same_event: SameEventRules = field(default_factory=SameEventRules)
    cache_dir: Path | None = None
    taxonomy_path: Path | None = None
    pages_dir: Path | None = None
    events_path: Path | None = None  # key events for the chart and timeline
    source_path: Path | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_base_url(self, base_url: str) -> "Config":
        return replace(self, base_url=normalise_base_url(base_url))

    def without_scope(self) -> "Config":
        return replace(self, scope=replace(self.scope, enabled=False))


def normalise_base_url(url: str) -> str:
    """Base URLs always end with exactly one slash, so joining is concatenation."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url {url!r} must start with http:// or https://")
    return url.rstrip("/") + "/"


def load_config(path: Path) -> Config:
    """Read site.yaml; relative paths in it are relative to the file's folder.

    Raises ConfigError with a message naming the key at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: settings file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return _config_from_text(path, text)


@functools.lru_cache(maxsize=4)
def _config_from_text(path: Path, text: str) -> Config:
    """load_config of the file's text; kept for the next call with the same
    text (the watch server reads the settings again before every rebuild)."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    return _from_mapping(raw, path)


def _from_mapping(raw: dict[str, Any], path: Path) -> Config:
    base = Config()
    folder = path.parent
    known = {"title", "description", "base_url", "language", "timezone", "page_size",
             "feed_size", "summary_chars", "reading_chars_per_minute", "max_input_bytes",
             "scope", "taxonomy", "pages", "related", "same_event", "cache", "events"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")
    config = replace(
        base,
        title=str(raw.get("title", base.title)),
        description=str(raw.get("description", base.description)),
        base_url=normalise_base_url(str(raw.get("base_url", base.base_url))),
        language=str(raw.get("language", base.language)),
        timezone=str(raw.get("timezone", base.timezone)),
        page_size=_positive(raw, "page_size", base.page_size, path),
        feed_size=_positive(raw, "feed_size", base.feed_size, path),
        summary_chars=_positive(raw, "summary_chars", base.summary_chars, path),
        reading_chars_per_minute=_positive(raw, "reading_chars_per_minute",
                                           base.reading_chars_per_minute, path),
        max_input_bytes=_positive(raw, "max_input_bytes", base.max_input_bytes, path),
        scope=_scope(raw.get("scope") or {}, path),
        related=_rules(RelatedRules, raw.get("related"), "related", path),
        same_event=_rules(SameEventRules, raw.get("same_event"), "same_event", path),
        cache_dir=folder / str(raw.get("cache", ".cache")),
        taxonomy_path=folder / str(raw.get("taxonomy", "content/tags.yaml")),
        pages_dir=folder / str(raw.get("pages", "content/pages")),
        events_path=folder / str(raw.get("events", "content/events.yaml")),
        source_path=path,
    )
    try:
        config.zone
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{path}: timezone {config.timezone!r} is not an IANA zone "
                          "name such as Asia/Shanghai") from exc
    return config


def _positive(raw: dict[str, Any], key: str, default: int, path: Path) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{path}: {key} must be a positive whole number, got {value!r}")
    return value


def _rules(kind: Any, raw: Any, key: str, path: Path) -> Any:
    """A rules dataclass with the numbers given in site.yaml (same names, same types)."""
    default = kind()
    if raw is None:
        return default
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {key} must be a mapping")
    values = {}
    for name, value in raw.items():
        if not hasattr(default, name):
            raise ConfigError(f"{path}: {key}.{name} is not a setting; known: "
                              f"{', '.join(default.__dataclass_fields__)}")
        wanted = type(getattr(default, name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{path}: {key}.{name} must be a non-negative number")
        values[name] = wanted(value)
    return replace(default, **values)


def _scope(raw: Any, path: Path) -> Scope:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: scope must be a mapping (enabled/start/end/keywords)")
    default = Scope()
    start, end = raw.get("start", default.start), raw.get("end", default.end)
    if not isinstance(start, date) or not isinstance(end, date) or start > end:
        raise ConfigError(f"{path}: scope.start and scope.end must be dates "
                          "(YYYY-MM-DD) with start <= end")
    keywords = raw.get("keywords", list(default.keywords))
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise ConfigError(f"{path}: scope.keywords must be a list of words")
    return Scope(bool(raw.get("enabled", True)), start, end, tuple(keywords))
