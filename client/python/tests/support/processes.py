"""Real processes for the tests: the server (``node dist/server/main.js``), a private
redis-server, and a Postgres database of a test's own."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[4]
SERVER_MAIN = REPO / "dist" / "server" / "main.js"


def free_port() -> int:
    """A free TCP port on loopback (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_built() -> None:
    """The server runs from ``dist/``: build it once if it is not there (``npm run build:server``)."""
    if not SERVER_MAIN.exists():
        subprocess.run(["npm", "run", "build:server"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as res:
            return bool(res.status == 200)
    except OSError:
        return False


CLUSTER_KEY = "bb:cluster"


def _release_cluster_claim(redis_url: str) -> None:
    """Tests give each history server a database of its own on the one Redis; a node refuses to
    start against a Redis whose cluster id another database recorded (so that one deployment
    cannot split its history). As the refusal says, deleting the key hands the Redis to the
    database of the node that starts next: the test's."""
    parts = urlsplit(redis_url)
    db = (parts.path or "/0").lstrip("/") or "0"
    commands = [["SELECT", db], ["DEL", CLUSTER_KEY]]
    payload = b"".join(
        f"*{len(c)}\r\n".encode() + b"".join(f"${len(a.encode())}\r\n{a}\r\n".encode() for a in c) for c in commands
    )
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=5) as conn:
        conn.sendall(payload)
        replies = b""
        while replies.count(b"\r\n") < len(commands):
            chunk = conn.recv(4096)
            if not chunk:
                break
            replies += chunk
    if not replies.startswith(b"+OK") or b"-ERR" in replies:
        raise RuntimeError(f"could not release the Redis cluster claim: {replies!r}")


class ServerProcess:
    """``node dist/server/main.js`` on a port of its own, with the test's environment.

    As the TypeScript tests' helper: load shedding off unless asked, history only with
    a database of the test's own.
    """

    def __init__(self, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        given = dict(env or {})
        self.env = {
            **os.environ,
            "LOG_LEVEL": "warn",
            "ADMISSION_LAG_MS": "0",
            "ADMISSION_BACKLOG_MS": "0",
            "ADMISSION_MAX_COMMITS": "0",
            "HISTORY_ENABLED": "true" if "DATABASE_URL" in given else "false",
            **given,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def start(self, timeout: float = 60) -> ServerProcess:
        ensure_built()
        if self.env["HISTORY_ENABLED"] == "true":
            _release_cluster_claim(self.env.get("REDIS_URL", "redis://127.0.0.1:6379"))
        self.proc = subprocess.Popen(["node", str(SERVER_MAIN)], cwd=REPO, env=self.env, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        while not _healthy(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early ({self.proc.returncode}): {self.output()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"server did not start: {self.output()}")
            time.sleep(0.05)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        """Sends ``sig`` and waits for the exit; returns the exit code."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def close(self) -> None:
        self.stop(signal.SIGKILL)
        self._log.close()


def _database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/blackboard")
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class Database:
    """A Postgres database of its own (the server creates it on start); ``drop`` removes it."""

    def __init__(self, prefix: str = "bbpy") -> None:
        self.name = f"{prefix}_{secrets.token_hex(5)}"
        self.url = _database_url(self.name)

    def drop(self) -> None:
        subprocess.run(
            ["psql", _database_url("postgres"), "-q", "-c", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
        )


def psql_background(database_url: str, sql: str) -> subprocess.Popen[bytes]:
    """Runs SQL through psql in the background (to hold a lock while a test runs)."""
    return subprocess.Popen(
        ["psql", database_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def psql_query(database_url: str, sql: str) -> str:
    """Runs SQL through psql and returns its unaligned output."""
    done = subprocess.run(["psql", database_url, "-At", "-c", sql], check=True, capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


class RedisProcess:
    """A private redis-server without persistence, which a test may stop and start empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> RedisProcess:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
