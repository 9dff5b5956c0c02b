"""Run the app under gunicorn with several workers and talk to it over loopback HTTP."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.support import ADMIN_SECRET, UP_SECRET

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 60.0
T = TypeVar("T")


@dataclass
class Answer:
    """One HTTP answer: status, parsed JSON body, headers, and which worker gave it."""

    status: int
    body: Any
    headers: dict[str, str]
    cookies: list[str] = field(default_factory=list)

    @property
    def worker(self) -> str:
        return self.headers.get("x-worker", "?")

    def cookie(self, name: str) -> str | None:
        """The value a ``Set-Cookie`` of ``name`` sets (empty when it clears it)."""
        for line in self.cookies:
            pair = line.split(";", 1)[0]
            key, _, value = pair.partition("=")
            if key.strip() == name:
                return value.strip()
        return None


def app_environment(database_url: str, **config: Any) -> dict[str, str]:
    """Environment for a worker: the test secrets, refresh mode, limits off unless given."""
    env = {
        "FSS_MP_DATABASE_URL": database_url,
        "ADMIN_JWT_SECRET": ADMIN_SECRET,
        "JWT_SECRET": UP_SECRET,
        "UP_JWT_MANAGEMENT": "refresh",
        "ADMIN_RATELIMIT_ENABLED": "false",
        "UP_RATELIMIT_ENABLED": "false",
    }
    for key, value in config.items():
        env[key] = value if isinstance(value, str) else json.dumps(value)
    return env


class Server:
    """``gunicorn tests.mp.wsgi:app`` on 127.0.0.1 (ephemeral port), ``workers`` processes.

    ``gthread`` workers (the default) run requests in threads too; a ``sync`` worker
    takes one connection at a time, so concurrent requests are sure to reach several.
    """

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str],
        *,
        workers: int = 4,
        threads: int = 2,
        worker_class: str = "gthread",
    ):
        self.tmp = tmp
        self.env = env
        self.workers = workers
        self.threads = threads
        self.worker_class = worker_class
        self.port = 0
        self.log = tmp / "gunicorn.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ready = self.tmp / "ready"
        ready.mkdir(exist_ok=True)
        listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = listener.getsockname()[1]
        fd = listener.fileno()
        os.set_inheritable(fd, True)
        env = {**os.environ, **self.env, "FSS_MP_READY_DIR": str(ready)}
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=fd://{fd}",
            f"--workers={self.workers}",
            f"--worker-class={self.worker_class}",
            f"--threads={self.threads}",
            "--timeout=60",
            "--graceful-timeout=3",
            f"--error-logfile={self.log}",
            "--log-level=warning",
            "tests.mp.wsgi:app",
        ]
        try:
            self._proc = subprocess.Popen(command, cwd=ROOT, env=env, pass_fds=(fd,))
        finally:
            listener.close()  # gunicorn holds its own copy
        deadline = time.monotonic() + START_DEADLINE
        while len(list(ready.iterdir())) < self.workers:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One request on a fresh connection (so any worker may take it)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = {"Connection": "close", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
            names = {key.lower(): value for key, value in response.getheaders()}
            cookies = response.headers.get_all("Set-Cookie") or []
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Answer(response.status, parsed, names, cookies)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        return self.request("POST", path, {} if body is None else body, headers)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, None, headers)


@contextmanager
def running(tmp: Path, env: dict[str, str], **options: Any) -> Iterator[Server]:
    server = Server(tmp, env, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def concurrently(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together by a barrier; results in call order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
