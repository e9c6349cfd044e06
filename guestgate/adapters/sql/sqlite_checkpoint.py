"""SQLite's WAL checkpoint, run in a thread instead of inside a commit.

By default SQLite copies the write-ahead log back into the database file from inside the
``COMMIT`` that makes the log pass 1,000 pages, and that checkpoint ends with an fsync of the
database file. With group commit that is every few commits, and each took 15-25 ms here: the
event loop of the whole worker stood still meanwhile, about a tenth of its time under load.

Here the write connection checkpoints inline only as a backstop (past `BACKSTOP_PAGES`), and
after a commit a PASSIVE checkpoint starts on a connection of its own in a thread, at most
one at a time per process and at most every `INTERVAL` seconds. A PASSIVE checkpoint never
waits for readers or writers (SQLite's CKPT lock is separate from its write lock), and the
sqlite3 module releases the GIL while SQLite works, so requests go on while the pages are
copied and synced. Durability does not change: a transaction is durable once its frames are
in the log, which the commit still writes; the checkpoint only moves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

INTERVAL = 0.1  # seconds between the starts of two checkpoints of one process
BACKSTOP_PAGES = 10_000  # the write connection's own autocheckpoint (~40 MiB of log)


class Checkpointer:
    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = 0
        self._conn: sqlite3.Connection | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._running: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._failed = False

    def after_commit(self) -> None:
        """Start a checkpoint in the background, or soon if one runs or started just now.

        A commit within `INTERVAL` of the last start sets a timer instead, so the log of a
        burst's last commits is copied too, not left until the next write."""
        if self._pid != os.getpid():
            # Threads do not survive a fork: a child starts its own.
            self._pid, self._conn, self._pool = os.getpid(), None, None
            self._running = self._timer = None
        if self._timer is not None:
            return
        wait = INTERVAL - (time.monotonic() - self._last)
        if wait > 0 or (self._running is not None and not self._running.done()):
            self._timer = asyncio.get_running_loop().call_later(max(wait, INTERVAL), self._start)
            return
        self._start()

    def _start(self) -> None:
        self._timer = None
        if self._running is not None and not self._running.done():
            self.after_commit()  # still copying: look again in a moment
            return
        self._last = time.monotonic()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._running = asyncio.get_running_loop().run_in_executor(self._pool, self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                # Never wait: another process's checkpoint running means this one is not needed.
                conn.execute("PRAGMA busy_timeout = 0")
                self._conn = conn
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            # The backstop checkpoint of the write connection still bounds the log.
            if not self._failed:
                self._failed = True
                log.warning("background WAL checkpoint failed: %s", exc)

    async def close(self) -> None:
        if self._pid != os.getpid():
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._running is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait([self._running])
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
