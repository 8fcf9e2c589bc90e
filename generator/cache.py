"""The build cache: parsed articles keyed by content, and what the last build rendered.

One SQLite file per content folder (`.cache/build-<hash of the folder>.sqlite`). Entries are keyed by the
file's sha256 plus a key of everything that changes how a file is parsed
(generator version, time zone, summary length, taxonomy, scope keywords), so
a stale entry is never used: it simply isn't found. A cache from another
schema or generator version, or one SQLite can't read, is thrown away and
rebuilt. The cache is as trusted as the project folder itself (it holds
pickled dataclasses written by this program), never by anything else.
"""

from __future__ import annotations

import pickle
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from generator import __version__

SCHEMA = 6
_TABLES = """
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, outcome BLOB NOT NULL, body TEXT);
CREATE TABLE IF NOT EXISTS files (rel_path TEXT PRIMARY KEY, size INTEGER NOT NULL,
                                  mtime_ns INTEGER NOT NULL, sha TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS last_build (id INTEGER PRIMARY KEY CHECK (id = 0),
                                       signature TEXT NOT NULL, report BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime_ns: int
    sha: str


class BuildCache:
    """A handle on the cache database; `disabled()` gives one that stores nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None
        self.rebuilt_reason: str | None = None
        if path is not None:
            self.db = self._open(path)

    @classmethod
    def disabled(cls) -> "BuildCache":
        return cls(None)

    @classmethod
    def reader(cls, path: Path) -> "BuildCache":
        """A connection for a worker process that only reads (no validation,
        no stamping: the parent process already opened and checked the file)."""
        cache = cls(None)
        cache.path = path
        cache.db = sqlite3.connect(path, isolation_level=None)
        return cache

    # -- opening and validating -------------------------------------------
    def _open(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect(path)
            reason = self._stale_reason(db)
            if reason is None:
                self._stamp(db)
                return db
            db.close()
        except sqlite3.DatabaseError as exc:
            reason = f"unreadable ({exc})"
        self.rebuilt_reason = reason
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        db = self._connect(path)
        self._stamp(db)
        return db

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_TABLES)
        return db

    @staticmethod
    def _stale_reason(db: sqlite3.Connection) -> str | None:
        rows = dict(db.execute("SELECT name, value FROM info").fetchall())
        if not rows:
            return None if not db.execute("SELECT 1 FROM parsed LIMIT 1").fetchone() \
                else "has no version stamp"
        if rows.get("schema") != str(SCHEMA) or rows.get("generator") != __version__:
            return (f"made by generator {rows.get('generator')} schema {rows.get('schema')}, "
                    f"this is {__version__} schema {SCHEMA}")
        # No integrity scan here (it reads the whole file, which a no-change rebuild
        # cannot afford); damage found later is handled where it is read.
        return None

    @staticmethod
    def _stamp(db: sqlite3.Connection) -> None:
        db.executemany("INSERT OR REPLACE INTO info VALUES (?, ?)",
                       [("schema", str(SCHEMA)), ("generator", __version__)])

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    # -- file stats (skip hashing unchanged files) --------------------------
    def file_stats(self) -> dict[str, FileStat]:
        if self.db is None:
            return {}
        try:
            return {rel: FileStat(size, mtime, sha) for rel, size, mtime, sha
                    in self.db.execute("SELECT rel_path, size, mtime_ns, sha FROM files")}
        except sqlite3.DatabaseError as exc:
            self._give_up(exc)
            return {}

    def save_file_stats(self, stats: Mapping[str, FileStat]) -> None:
        if self.db is None:
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM files")
            self.db.executemany("INSERT INTO files VALUES (?, ?, ?, ?)",
                                [(rel, s.size, s.mtime_ns, s.sha) for rel, s in stats.items()])

    # -- parsed outcomes --------------------------------------------------
    def get_outcomes(self, keys: Iterable[str]) -> dict[str, object]:
        """Parsed outcomes (without bodies) for the keys that are cached; a
        damaged database reads as empty (everything is parsed again)."""
        if self.db is None:
            return {}
        try:
            return self._get_outcomes(keys)
        except sqlite3.DatabaseError as exc:
            self._give_up(exc)
            return {}

    def _give_up(self, exc: Exception) -> None:
        """Stop using a database found damaged mid-build; the next build
        starts a new one (see _open)."""
        self.rebuilt_reason = f"was damaged ({exc}); it will be rebuilt"
        try:
            if self.db is not None:
                self.db.execute("DELETE FROM info")
        except sqlite3.DatabaseError:
            pass
        self.close()

    def _get_outcomes(self, keys: Iterable[str]) -> dict[str, object]:
        if self.db is None:
            return {}
        found: dict[str, object] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 900):
            chunk = wanted[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                    f"SELECT key, outcome FROM parsed WHERE key IN ({marks})", chunk):
                try:
                    found[key] = pickle.loads(blob)
                except Exception:  # a damaged row is a cache miss, never a crash
                    continue
        return found

    def put_outcomes(self, rows: Iterable[tuple[str, object, str | None]]) -> None:
        if self.db is None:
            return
        data = [(key, pickle.dumps(outcome, protocol=5), body) for key, outcome, body in rows]
        if not data:
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO parsed VALUES (?, ?, ?)", data)

    def bodies(self, keys: Iterable[str]) -> Iterator[tuple[str, str]]:
        if self.db is None:
            return
        wanted = list(keys)
        for start in range(0, len(wanted), 900):
            chunk = wanted[start:start + 900]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(
                f"SELECT key, body FROM parsed WHERE key IN ({marks})", chunk)

    def prune_outcomes(self, keep: Iterable[str]) -> None:
        """Forget parsed files no longer in the content folder."""
        if self.db is None:
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM keep")
            self.db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", [(k,) for k in keep])
            self.db.execute("DELETE FROM parsed WHERE key NOT IN (SELECT key FROM keep)")

    # -- the last build, for the nothing-changed fast path -------------------
    def last_build(self, signature: str) -> object | None:
        """The report of the last build if it was made from exactly these inputs."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT signature, report FROM last_build WHERE id = 0"
                                  ).fetchone()
        except sqlite3.DatabaseError as exc:
            self._give_up(exc)
            return None
        if row is None or row[0] != signature:
            return None
        try:
            return pickle.loads(row[1])
        except Exception:
            return None

    def save_last_build(self, signature: str, report: object) -> None:
        if self.db is None:
            return
        blob = pickle.dumps(report, protocol=5)
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR REPLACE INTO last_build VALUES (0, ?, ?)",
                            (signature, blob))


    # -- state a stage keeps for the next build (linkstate.LinkState) -------
    def get_state(self, name: str) -> object | None:
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
            return pickle.loads(row[0]) if row else None
        except Exception:  # damaged or from older code: the stage starts afresh
            return None

    def put_state(self, name: str, value: object) -> None:
        if self.db is None:
            return
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, blob))


def open_cache(path: Path | None) -> BuildCache:
    return BuildCache(path) if path is not None else BuildCache.disabled()


