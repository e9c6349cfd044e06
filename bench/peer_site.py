"""The peer: Django with django-invitations behind gunicorn, built and started by the bench.

Its virtualenv is built once under bench/.work/peer-venv from bench/peer/requirements.txt (and
rebuilt when that changes). Every run generates a new project with `django-admin
startproject` in the run's work folder, adds the bench's settings, URLs and one app from
bench/peer/, migrates a new SQLite database, issues a bearer token and serves the project with
gunicorn, two sync workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.harness import HERE, ROOT, free_port, stop, wait_until_listening

SOURCES = HERE / "peer"
WORK = HERE / ".work"
WORKERS = 2


def build_venv(venv: Path = WORK / "peer-venv") -> Path:
    """The peer's virtualenv with the pinned requirements; its bin/ folder."""
    requirements = SOURCES / "requirements.txt"
    stamp = venv / ".requirements"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return venv / "bin"
    print("building the peer's virtualenv…", file=sys.stderr, flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv") or next(
        (str(p) for p in [ROOT / ".tools" / "bin" / "uv"] if p.exists()), None
    )
    python = str(venv / "bin" / "python")
    if uv:
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        install = [uv, "pip", "install", "--quiet", "--python", python]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [python, "-m", "pip", "install", "--quiet"]
    subprocess.run([*install, "-r", str(requirements)], check=True)
    stamp.write_text(requirements.read_text())
    return venv / "bin"


class Peer:
    """The peer project generated in `workdir`, served by `gunicorn --workers 2`."""

    def __init__(self, workdir: Path) -> None:
        self.project = workdir / "peer"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ready = workdir / "peer-ready"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        self.env.update(
            {"DJANGO_SETTINGS_MODULE": "peer_settings", "PEER_READY_DIR": str(self.ready)}
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def start(self) -> None:
        bin_ = build_venv()
        self.project.mkdir()
        self.ready.mkdir()
        subprocess.run(
            [str(bin_ / "django-admin"), "startproject", "peersite", str(self.project)], check=True
        )
        shutil.copytree(
            SOURCES,
            self.project,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "requirements.txt"),
        )

        def manage(*command: str) -> str:
            done = subprocess.run(
                [str(bin_ / "python"), "manage.py", *command],
                cwd=self.project,
                env=self.env,
                check=True,
                capture_output=True,
                text=True,
            )
            return done.stdout.strip()

        manage("migrate", "--verbosity", "0")
        self.token = manage("issue_token")
        out = (self.project / "gunicorn.out").open("w")
        self.process = subprocess.Popen(
            [
                str(bin_ / "gunicorn"),
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--config",
                "gunicorn_conf.py",
                "--control-socket",  # its own, not one in $HOME shared by every gunicorn
                str(self.project / "gunicorn.ctl"),
                "peersite.wsgi",
            ],
            cwd=self.project,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while len(list(self.ready.iterdir())) < WORKERS:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError((self.project / "gunicorn.out").read_text()[-2000:])
            time.sleep(0.05)
        wait_until_listening(self.port, workers=1)  # the workers share the master's socket

    def workers(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self) -> None:
        stop(self.process)
