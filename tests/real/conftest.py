"""A throw-away person for every test: HOME with credential stores holding
fake secrets, XDG dirs, a workspace; and `jail` run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SECRET = "SECRET-7f3a9c-DO-NOT-LEAK"
PROGS = Path(__file__).parent / "progs"


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line contains marker (to prove none survived)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def read_until(fd: int, pattern: bytes, seen: bytes = b"", timeout: float = 30) -> bytes:
    """Read a pty until the regex `pattern` is found in what was read, the
    other end goes away, or the timeout. A pattern should end where the output
    it waits for ends (a line end): output through jail's pty arrives in
    chunks that may split a line."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, seen) and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def waiting_request(world: World, timeout: float = 30) -> dict:
    """The request waiting in this world (other sessions of this user may be
    waiting too), as `jail approve --list --json` shows it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = subprocess.run([sys.executable, "-m", "jail", "approve", "--list", "--json"],
                                 env=world.env, capture_output=True, text=True, timeout=30, check=False)
        ours = [item for item in map(json.loads, listing.stdout.splitlines())
                if item["request"]["cwd"] == os.path.realpath(world.workspace)]
        if ours:
            return ours[0]
        time.sleep(0.2)
    raise AssertionError("no request ever waited")


@dataclass
class World:
    home: Path
    workspace: Path
    env: dict[str, str]

    @property
    def ssh_key(self) -> Path:
        return self.home / ".ssh" / "id_rsa"

    def run(self, *command: str, args: tuple[str, ...] = (), cwd: Path | None = None, timeout: float = 60,
            input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`jail run [args] -- command...` as the person would type it."""
        return subprocess.run(
            [sys.executable, "-m", "jail", "run", *args, "--", *command],
            cwd=cwd or self.workspace, env={**self.env, **(env or {})}, capture_output=True, text=True,
            timeout=timeout, input=input, check=False,
        )

    def jail(self, *argv: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "jail", *argv], cwd=cwd or self.workspace, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def audit_records(self) -> list[dict]:
        import json
        sessions = sorted((self.home / ".local/state/jail/sessions").glob("*.jsonl"))
        assert sessions, "no audit session written"
        return [json.loads(line) for line in sessions[-1].read_text().splitlines()]


# Worlds live outside /tmp: the default profile makes /tmp writable, and a
# test of "outside the writable places" needs a home that is not.
WORLDS = Path(os.environ.get("JAIL_TEST_WORLDS", "/srv/jail-test-worlds"))


@pytest.fixture
def tmp_world_dir() -> Path:
    WORLDS.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=WORLDS))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def world(tmp_world_dir: Path) -> World:
    tmp_path = tmp_world_dir
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN KEY-----\n{SECRET}\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(f"[default]\naws_secret_access_key = {SECRET}\n")
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "README").write_text("hello from the workspace\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "JAIL_"))}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return World(home, workspace, env)


@pytest.fixture(scope="session")
def progs(tmp_path_factory) -> dict[str, Path]:
    """The C probe programs, compiled once per run with warnings as errors."""
    out = tmp_path_factory.mktemp("progs")
    built = {}
    for source in PROGS.glob("*.c"):
        binary = out / source.stem
        extra = ["-no-pie"] if source.stem == "foreign_arch" else []
        subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-pthread", *extra, "-o", str(binary), str(source)],
                       check=True)
        built[source.stem] = binary
    return built
