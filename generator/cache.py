"""The build cache: parsed articles keyed by content, and what the last build rendered.

One SQLite file per content folder (`.cache/build-<hash of the folder>.sqlite`). Entries are keyed by the
file's sha256 plus a key of everything that changes how a file is parsed
(generator version, time zone, summary length, taxonomy, scope keywords), so
a stale entry is never used: it simply isn't found. A cache from another
schema or generator version, or one SQLite can't read, is thrown away and
rebuilt. The cache is as trusted as the project folder itself (it holds
pickled dataclasses written by this program), never by anything else.

Parsed outcomes are stored in generator/codec.py's compact form. The last
build's report and the link stage's state, which each build replaces whole,
are files beside the database (`build-….sqlite.last-build`, `….state-links`).
"""

from __future__ import annotations

import glob
import os
import pickle
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, NamedTuple

from generator import __version__

if TYPE_CHECKING:
    from generator.parse import ParseOutcome

SCHEMA = 7  # 7: outcomes and stored articles in codec form (generator/codec.py)
_TABLES = """
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, outcome BLOB NOT NULL, body TEXT);
CREATE TABLE IF NOT EXISTS files (rel_path TEXT PRIMARY KEY, size INTEGER NOT NULL,
                                  mtime_ns INTEGER NOT NULL, sha TEXT NOT NULL);
"""


# How long a parse worker's commit waits for the other writer's (ms).
WRITER_BUSY_MS = 60_000


class FileStat(NamedTuple):
    """What the last build saw of a content file (a named tuple: a build reads
    one per file, and a frozen dataclass takes four times as long to make)."""

    size: int
    mtime_ns: int
    sha: str


class BuildCache:
    """A handle on the cache database; `disabled()` gives one that stores nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None
        self.rebuilt_reason: str | None = None
        self._stats_read: dict[str, FileStat] | None = None  # the files table, as last read
        # file_stats() found the database as this process's last build left
        # it: no other process wrote to it since, nor was it made anew.
        self.as_left = False
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

    @classmethod
    def writer(cls, path: Path) -> "BuildCache":
        """A connection for a parse worker that stores the rows of the files
        it parses (the parent process opened and checked the file, and made
        it a WAL database, in which two writers take turns)."""
        cache = cls.reader(path)
        assert cache.db is not None
        # Not kept in the file, unlike WAL mode: without it every commit syncs.
        cache.db.execute("PRAGMA synchronous=NORMAL")
        # A commit waits while the other worker's is written (a few ms each).
        cache.db.execute(f"PRAGMA busy_timeout={WRITER_BUSY_MS}")
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
        remove_cache(path)
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
            stamp = self.db.execute("SELECT value FROM info WHERE name = 'files-stamp'"
                                    ).fetchone()
            self._stats_read = _STATS.recall(self.path, stamp[0] if stamp else None)
            self.as_left = self._stats_read is not None
            if self._stats_read is None:
                self._stats_read = {rel: FileStat(size, mtime, sha) for rel, size, mtime, sha
                                    in self.db.execute("SELECT rel_path, size, mtime_ns, sha "
                                                       "FROM files")}
        except sqlite3.DatabaseError as exc:
            self._give_up(exc)
            return {}
        return dict(self._stats_read)

    def save_file_stats(self, stats: Mapping[str, FileStat]) -> None:
        """Make the stored stats equal `stats`. Only the rows that differ from
        what file_stats() read are written: an incremental build changes a
        few of 10,000."""
        if self.db is None:
            return
        before = self._stats_read
        gone = [(rel,) for rel in before.keys() - stats.keys()] if before is not None else []
        rows = [(rel, s.size, s.mtime_ns, s.sha) for rel, s in stats.items()
                if before is None or before.get(rel) != s]
        with self.db:
            self.db.execute("BEGIN")
            if before is None:
                self.db.execute("DELETE FROM files")
            self.db.executemany("DELETE FROM files WHERE rel_path = ?", gone)
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", rows)
            stamp = os.urandom(12).hex()
            self.db.execute("INSERT OR REPLACE INTO info VALUES ('files-stamp', ?)", (stamp,))
        self._stats_read = dict(stats)
        _STATS.keep(self.path, stamp, self._stats_read)

    # -- parsed outcomes --------------------------------------------------
    def get_outcomes(self, keys: Iterable[str]) -> dict[str, ParseOutcome]:
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

    def _get_outcomes(self, keys: Iterable[str]) -> dict[str, ParseOutcome]:
        if self.db is None:
            return {}
        from generator.codec import decode_outcome

        wanted = set(keys)
        found = _DECODED.take(self.path, wanted)
        missing = wanted - found.keys()
        for key, blob in self._outcome_rows(missing):
            if key in missing:
                try:
                    found[key] = decode_outcome(blob)
                except Exception:  # a damaged row is a cache miss, never a crash
                    continue
        _DECODED.keep(self.path, found)
        return found

    def _outcome_rows(self, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
        """The (key, outcome) rows of these keys, perhaps with others. An
        incremental build wants nearly every row (the table is pruned to the
        content folder's files), and one pass over the table is faster than
        a lookup per key; a few keys are looked up."""
        assert self.db is not None
        if not wanted:
            return
        if len(wanted) > 900:
            yield from self.db.execute("SELECT key, outcome FROM parsed")
            return
        chunk = list(wanted)
        marks = ",".join("?" * len(chunk))
        yield from self.db.execute(f"SELECT key, outcome FROM parsed WHERE key IN ({marks})",
                                   chunk)

    def put_outcomes(self, rows: Iterable[tuple[str, ParseOutcome, str | None]]) -> None:
        if self.db is None:
            return
        from generator.codec import encode_outcome

        self.put_records([(key, encode_outcome(outcome), body) for key, outcome, body in rows])

    def put_records(self, rows: Iterable[tuple[str, bytes, str | bytes | None]]) -> None:
        """Store (key, codec record of the outcome, body) rows. A body may come
        as its UTF-8 (parse workers send it so): CAST(... AS TEXT) stores those
        bytes as the TEXT the str would have been, without decoding them here."""
        if self.db is None:
            return
        data = list(rows)
        if not data:
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO parsed VALUES (?, ?, CAST(? AS TEXT))", data)

    def try_put_records(self, rows: Iterable[tuple[str, bytes, str | bytes | None]]) -> bool:
        """put_records; False if the database refused them (locked for too
        long, full disk, damaged): the caller then keeps them to store later."""
        try:
            self.put_records(rows)
        except sqlite3.Error:
            return False
        return True

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
        """Forget parsed files no longer in the content folder. The keys are
        read from the key index alone (no row is read), and only the rows to
        forget are touched."""
        if self.db is None:
            return
        kept = set(keep)
        with self.db:
            self.db.execute("BEGIN")
            gone = [(key,) for (key,) in self.db.execute("SELECT key FROM parsed")
                    if key not in kept]
            self.db.executemany("DELETE FROM parsed WHERE key = ?", gone)

    # -- blobs a build replaces whole: the last report, stage states ----------
    # They are files beside the database, not rows in it: SQLite writes a
    # replaced row through its journal and frees the old one page by page,
    # ≈0.1 s for the last report (≈15 MB at 10,000 articles) where writing
    # a file takes ≈0.01 s. Each file starts with a small header (the cache
    # schema, the generator version, then what the reader checks first), so
    # a file from other code, or with another signature, is not unpickled whole.
    def last_build(self, signature: str) -> object | None:
        """The report of the last build if it was made from exactly these inputs."""
        return self._read_blob("last-build", lambda header: header == signature)

    def last_report(self) -> object | None:
        """The last build's report, whatever it was made from (None: none, or unreadable)."""
        return self._read_blob("last-build", lambda header: True)

    def save_last_build(self, signature: str, report: object) -> None:
        self._write_blob("last-build", signature, report)

    # -- state a stage keeps for the next build (linkstate.LinkState) -------
    def get_state(self, name: str) -> object | None:
        """The state last put under `name`; None if none, or damaged, or from
        other code (the stage then starts afresh)."""
        return self._read_blob(f"state-{name}", lambda header: header == name)

    def put_state(self, name: str, value: object) -> None:
        self._write_blob(f"state-{name}", name, value)

    def state_stamp(self, name: str) -> tuple[int, ...] | None:
        """Which copy of the state `name` is stored (its file's identity, size
        and time; None if there is none): a process that keeps the state in
        memory uses it only while the cache still holds the copy it wrote."""
        path = self._blob_path(f"state-{name}")
        if path is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns

    def _blob_path(self, name: str) -> Path | None:
        if self.db is None or self.path is None:
            return None
        return self.path.with_name(f"{self.path.name}.{name}")

    def _read_blob(self, name: str, wanted: Callable[[object], bool]) -> object | None:
        path = self._blob_path(name)
        if path is None:
            return None
        try:
            with open(path, "rb") as handle:
                header = pickle.load(handle)
                if header[:2] != (SCHEMA, __version__) or not wanted(header[2]):
                    return None
                return pickle.load(handle)
        except Exception:  # missing, damaged, or pickled by other code: not there
            return None

    def _write_blob(self, name: str, header: object, value: object) -> None:
        """Replace the blob atomically (a build killed while writing leaves
        the old one); the temporary name is this process's own."""
        path = self._blob_path(name)
        if path is None:
            return
        temp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        with open(temp, "wb") as handle:
            pickle.dump((SCHEMA, __version__, header), handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)


class _DecodedOutcomes:
    """The outcomes this process decoded for its last build, so that the next
    build in the same process (the watch server's) need not decode them again:
    ≈0.3 s of a one-article rebuild at 10,000 articles.

    Safe without any check against the database: a key names the file's bytes
    and every parse setting, so its outcome never changes, and this process
    runs one version of the code. Only the last build's outcomes are kept
    (what that build held anyway), and only for one cache file."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.outcomes: dict[str, ParseOutcome] = {}

    def take(self, path: Path | None, wanted: set[str]) -> dict[str, ParseOutcome]:
        if path != self.path:
            return {}
        return {key: self.outcomes[key] for key in wanted if key in self.outcomes}

    def keep(self, path: Path | None, outcomes: dict[str, ParseOutcome]) -> None:
        self.path, self.outcomes = path, dict(outcomes)

    def forget(self) -> None:
        self.path, self.outcomes = None, {}


_DECODED = _DecodedOutcomes()


class _StatsMirror:
    """The files table as this process last wrote it, and the random stamp
    written with it. While the database holds that stamp, no other process
    has changed the table since, and a build reads it from here (the watch
    server's: ≈0.05 s at 10,000 files) instead of from SQLite."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.stamp: str | None = None
        self.stats: dict[str, FileStat] = {}

    def recall(self, path: Path | None, stamp: str | None) -> dict[str, FileStat] | None:
        if stamp is None or (path, stamp) != (self.path, self.stamp):
            return None
        return self.stats

    def keep(self, path: Path | None, stamp: str, stats: dict[str, FileStat]) -> None:
        self.path, self.stamp, self.stats = path, stamp, stats


_STATS = _StatsMirror()


def remove_cache(path: Path) -> None:
    """Delete a cache database and the blob files beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    for blob in path.parent.glob(f"{glob.escape(path.name)}.*"):
        blob.unlink(missing_ok=True)


def open_cache(path: Path | None) -> BuildCache:
    return BuildCache(path) if path is not None else BuildCache.disabled()


