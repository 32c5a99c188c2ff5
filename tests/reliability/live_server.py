"""Real processes for the reliability tests: a uvicorn server or an indexer in a subprocess, always killed.

The server is `uvicorn --factory api.app:create_app`, configured only through `RAG_*` environment variables
(as in production), on a free loopback port. Everything started here is killed in `finally`/`__exit__`, by
its own pid, so a failing test never leaves a server behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from rag.config import ROOT

ARTIFACTS = ROOT / "test-artifacts"
FIGURES = ARTIFACTS / "reliability.json"
# Generous: on a loaded 2-core machine a cold start (imports, model, jieba dictionary) can take ~30 s.
START_TIMEOUT_S = 120.0


def free_port() -> int:
    """A port the kernel just handed out for 127.0.0.1 (bind to port 0), closed again for uvicorn to take."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rag_env(**settings: object) -> dict[str, str]:
    """This process's environment without any `RAG_*` variable, plus `settings` as `RAG_<NAME>` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    env.update({f"RAG_{k.upper()}": str(v) for k, v in settings.items() if v is not None})
    return env


def rss_kb(pid: int) -> int:
    """Resident set size of a process in kB, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _die_with_parent() -> None:
    """In the child before exec: the kernel SIGKILLs it if the test process dies (even by SIGKILL itself)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `python <args>` from the repository root, output appended to `log_path`, tied to our lifetime."""
    with log_path.open("ab") as log:  # preexec_fn only calls prctl: safe in the forked child
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)


def kill_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL one process we started (by its pid, never by name) and reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


class LiveServer:
    """`uvicorn --factory api.app:create_app` in a subprocess; use as a context manager, or call kill()."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> LiveServer:
        """Start and wait until /readyz answers 200; a port lost to a race is retried on a new one."""
        for _ in range(3):
            self.port = free_port()
            self.proc = spawn(["-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
                               "--port", str(self.port), "--log-level", "info"], self.env, self.log_path)
            if self._wait_ready():
                return self
            kill_process(self.proc)
            if "address already in use" not in self.log().lower():
                break
        raise RuntimeError(f"server did not become ready; log:\n{self.log()[-3000:]}")

    def _wait_ready(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what a power cut or the OOM killer does."""
        if self.proc is not None:
            kill_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.kill()


def record_figures(section: str, figures: dict[str, object]) -> None:
    """Merge one test's figures into test-artifacts/reliability.json (the README's reliability numbers)."""
    ARTIFACTS.mkdir(exist_ok=True)
    data: dict[str, object] = {}
    if FIGURES.exists():
        try:
            data = json.loads(FIGURES.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
    data[section] = figures
    FIGURES.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
