"""Old outputs are set aside while tools are timed, and deleted only between sizes.

Deleting a site of ~28,000 files and folders just before timing the next build
slowed that build by seconds on this machine: ext4 without a journal (as here)
does not hand out an inode freed in the last 60 s (360 s while its inode-table
block is still dirty), and looks for a free one by walking the group's bitmap
from its start, checking each freed inode's deletion time on the way. Every new
file and folder then walks past all the recently freed ones. perf showed
`recently_deleted`/`find_inode_bit` under mkdir and open as a quarter of the
whole machine's samples in a cold build made right after such a delete. Our
cold build's kernel time went from 2.8–3.1 s to 6.6–9.0 s, Hugo's from 4.8 s
to 10.3 s (10,000 articles).

A reader's cold build (a fresh clone, CI) does not follow a mass delete, and
how much each tool paid depended on how much the run before it had deleted.
So the bench renames old outputs into a trash folder (a rename frees no inode)
and empties it after the last timed run of a size; when more runs follow, it
then syncs and waits out the window (`SETTLE_S`). The time of each emptying
is kept beside the trash, so that a run started right after another one
(`--sizes 10000`, then `--sizes 100000`) waits out the window of the
earlier run's last emptying too: without that, a 100,000-article cold build
made seconds after the 10,000 run had deleted its outputs took 141.6 s.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from pathlib import Path
from typing import Callable

# ext4's window for a recently freed inode whose inode-table block is clean
# (RECENTCY_MIN in fs/ext4/ialloc.c); os.sync() makes the blocks clean.
SETTLE_S = 61.0
# Below this much free space the trash is emptied at once (100,000-article
# outputs are ~4 GB each), and the wait is paid then.
MIN_FREE_BYTES = 20 * 2**30


class Trash:
    """A folder that old outputs are renamed into, emptied when no run is being timed."""

    def __init__(self, folder: Path, min_free_bytes: int = MIN_FREE_BYTES,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.min_free_bytes = min_free_bytes
        self._sleep = sleep
        self._clock = clock
        self._numbers = itertools.count()
        # When the trash was last emptied, by this run or an earlier one.
        self._stamp = folder.with_name(folder.name + ".emptied")

    def discard(self, path: Path) -> None:
        """Move `path` (file, folder or symlink) out of the way without deleting it."""
        if not (path.exists() or path.is_symlink()):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._free_name(path.name)
        try:
            path.rename(target)
        except OSError:  # another filesystem: nothing to gain, delete it
            remove(path)
        if shutil.disk_usage(self.folder).free < self.min_free_bytes:
            print("bench: disk space low, emptying the trash between runs", flush=True)
            self.empty(settle=True)

    def empty(self, *, settle: bool) -> bool:
        """Delete everything in the trash; with `settle`, then wait until the
        freed inodes are no longer recent. True if there was anything."""
        if not self.folder.exists() or not any(self.folder.iterdir()):
            return False
        remove(self.folder)
        self._stamp.write_text(repr(self._clock()), encoding="utf-8")
        if settle:
            self.settle()
        return True

    def settle(self) -> None:
        """Sync, and wait until what the last emptying freed is no longer
        recent (nothing to do long after it, or if the trash never was)."""
        try:
            emptied = float(self._stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        left = emptied + SETTLE_S - self._clock()
        if left > 0:
            os.sync()
            self._sleep(min(left, SETTLE_S))

    def _free_name(self, name: str) -> Path:
        while True:
            target = self.folder / f"{next(self._numbers)}-{name}"
            if not (target.exists() or target.is_symlink()):
                return target


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
