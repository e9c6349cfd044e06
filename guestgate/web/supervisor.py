"""Several uvicorn worker processes, each accepting on its own socket (SO_REUSEPORT).

With one shared listening socket (uvicorn's ``--workers``), whichever worker wakes first
accepts a whole burst of connections: a client that opens 64 keep-alive connections at once
was seen to land 64/0, 58/6 or 40/24 on two workers, so one worker queued everything while
the other idled. Here every worker listens on its own socket bound to the same port, and the
kernel spreads new connections over the sockets by their addresses.

A worker that dies is replaced on the same socket; connections that arrive meanwhile wait in
that socket's backlog, because this process keeps every socket open. A worker that fails
while starting (a bad certificate, say) stops the service instead of restarting forever.

Each worker is handed the Settings object of `serve` itself (pickled by multiprocessing's
spawn) and builds its app from it: what a flag changed reaches every worker.

With metrics on, the supervisor makes an empty directory for the run where every worker
keeps its counts (guestgate/metrics.py), so each worker's `/metrics` reports them all; the
directory is removed when the service stops.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import multiprocessing.process
import os
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass, replace
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from guestgate import metrics
from guestgate.config import Settings
from guestgate.web.app import serving_app
from guestgate.web.protocol import DeadlineHttpToolsProtocol

logger = logging.getLogger("guestgate.serve")
_spawn = multiprocessing.get_context("spawn")
QUICK_EXIT_SECONDS = 5.0
GRACEFUL_SHUTDOWN_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Tls:
    """The PEM certificate and key `serve` answers https with."""

    cert_file: str
    key_file: str


def server_config(settings: Settings, tls: Tls | None) -> uvicorn.Config:
    """uvicorn's configuration of one serving process; the app is built there from `settings`."""
    return uvicorn.Config(
        functools.partial(serving_app, settings),
        factory=True,  # called inside the worker's event loop, as uvicorn loads an app
        host=settings.http.host,
        port=settings.http.port,
        loop="uvloop",
        http=DeadlineHttpToolsProtocol,
        ssl_certfile=tls.cert_file if tls else None,
        ssl_keyfile=tls.key_file if tls else None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        log_config=None,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        h11_max_incomplete_event_size=16 * 1024,
    )


def serve(settings: Settings, *, workers: int, tls: Tls | None) -> int:
    """Serve until SIGINT or SIGTERM; the exit status."""
    if workers == 1:
        uvicorn.Server(server_config(settings, tls)).run()
        return 0
    # Each worker on its own SO_REUSEPORT socket: connections spread evenly.
    return Supervisor(settings, workers=workers, tls=tls).run()


def bind_reuseport(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _worker_main(settings: Settings, tls: Tls | None, sock: socket.socket) -> None:
    config = server_config(settings, tls)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(self, settings: Settings, *, workers: int, tls: Tls | None) -> None:
        self.settings = settings
        self.tls = tls
        host, port = settings.http.host, settings.http.port
        self.sockets = [bind_reuseport(host, port) for _ in range(workers)]
        self.processes: list[multiprocessing.process.BaseProcess | None] = [None] * workers
        self.started = [0.0] * workers
        self.quick_exits = [0] * workers  # consecutive exits soon after starting, per slot
        self.restart_at = [0.0] * workers
        self.should_exit = threading.Event()
        self.failed = False
        self.metrics_dir: str | None = None

    def settings_for(self, slot: int) -> Settings:
        """A worker process's settings: the first one's worker runs the lifecycle passes
        (each reads every guest), the others' do not."""
        first = self.settings.lifecycle_scheduler and slot == 0
        return replace(self.settings, lifecycle_scheduler=first)

    def _start(self, slot: int) -> None:
        settings = self.settings_for(slot)
        process = _spawn.Process(target=_worker_main, args=(settings, self.tls, self.sockets[slot]))
        process.start()
        self.processes[slot], self.started[slot] = process, time.monotonic()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.should_exit.set()

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        if self.settings.metrics.enabled:
            self.metrics_dir = metrics.share_between_workers()
        try:
            for slot in range(len(self.sockets)):
                self._start(slot)
            while not self.should_exit.wait(0.2):
                self._replace_dead()
        finally:
            self._stop_all()
            for sock in self.sockets:
                sock.close()
            if self.metrics_dir is not None:
                shutil.rmtree(self.metrics_dir, ignore_errors=True)
        return 1 if self.failed else 0

    def _replace_dead(self) -> None:
        now = time.monotonic()
        for slot, process in enumerate(self.processes):
            if process is not None:
                if process.is_alive():
                    continue
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    logger.error("worker %s failed to start; stopping", process.pid)
                    self.failed = True
                    self.should_exit.set()
                    return
                quick = now - self.started[slot] < QUICK_EXIT_SECONDS
                self.quick_exits[slot] = self.quick_exits[slot] + 1 if quick else 0
                # A worker that keeps dying right away is restarted ever more slowly.
                delay = min(0.5 * 2 ** self.quick_exits[slot], 30.0) if quick else 0.0
                self.restart_at[slot], self.processes[slot] = now + delay, None
                logger.warning(
                    "worker %s exited with %s; another starts in %.1f s",
                    process.pid,
                    process.exitcode,
                    delay,
                )
            if now >= self.restart_at[slot] and not self.should_exit.is_set():
                self._start(slot)

    def _stop_all(self) -> None:
        running = [p for p in self.processes if p is not None and p.is_alive()]
        for process in running:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)  # uvicorn's graceful shutdown
        deadline = time.monotonic() + GRACEFUL_SHUTDOWN_SECONDS + 5
        for process in running:
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                process.kill()
                process.join()
