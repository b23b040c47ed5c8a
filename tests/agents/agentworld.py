"""Helpers for the agent tests: real agent CLIs, installed from the npm registry into a cache outside the
repository (pinned, reused across runs), driven offline against the stand-in
model server under real jail.

Set JAIL_TEST_AGENTS_CACHE to move the cache (default ~/.cache/jail-test-agents).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

WORLDS = Path(os.environ.get("JAIL_TEST_WORLDS", "/srv/jail-test-worlds"))
CACHE = Path(os.environ.get("JAIL_TEST_AGENTS_CACHE", Path.home() / ".cache" / "jail-test-agents"))
# A planted token of a type the secret catalogue knows (a GitHub personal access token).
PLANTED = "ghp_" + "Zq8v" * 9
FAKE_API_KEY = "sk-ant-api03-" + "standinkey" * 8 + "-AA"
REDACTED = "REDACTED_BY_POLICY"


def install_npm(package: str, version: str, binary: str) -> Path:
    """The CLI's bin/ entry point, installed once per version into the cache."""
    prefix = CACHE / f"{package.replace('/', '_').lstrip('@')}-{version}"
    entry = prefix / "node_modules" / ".bin" / binary
    if entry.exists():
        return entry
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           "--omit=optional", f"{package}@{version}"],
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        shutil.rmtree(prefix, ignore_errors=True)
        unreachable = any(code in done.stderr for code in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED",
                                                           "ETIMEDOUT", "ECONNRESET"))
        if unreachable:
            pytest.skip(f"the npm registry is unreachable: cannot install {package}@{version}")
        pytest.fail(f"npm install {package}@{version} failed:\n{done.stderr[-2000:]}")
    return entry


@dataclass
class AgentWorld:
    home: Path
    workspace: Path
    bin: Path  # first on PATH: stand-in tools (terraform ...)
    env: dict[str, str]

    def run(self, command: list[str], *, jailed: bool = True, env: dict[str, str] | None = None,
            jail_args: tuple[str, ...] = (), timeout: float = 120) -> subprocess.CompletedProcess:
        prefix = [sys.executable, "-m", "jail", "run", *jail_args, "--"] if jailed else []
        return subprocess.run([*prefix, *command], cwd=self.workspace, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)

    def audit_records(self) -> list[dict]:
        import json

        sessions = sorted((self.home / ".local/state/jail/sessions").glob("*.jsonl"))
        assert sessions, "no audit session written"
        return [json.loads(line) for line in sessions[-1].read_text().splitlines()]


def make_world() -> AgentWorld:
    WORLDS.mkdir(mode=0o755, parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=WORLDS))
    os.chmod(root, 0o755)
    home, workspace, tools = root / "home", root / "project", root / "bin"
    for directory in (home, workspace, tools):
        directory.mkdir()
    # The person's own base profile: the CLIs installed for these tests live in
    # the cache, outside the places the agent profiles never redact.
    config = home / ".config" / "jail"
    config.mkdir(parents=True)
    (config / "jail.toml").write_text(
        'extends = ["default"]\n[redact]\n'
        f'never = [{{ path = "{CACHE}", reason = "the agent CLIs installed for the tests" }}]\n')
    (workspace / "README.md").write_text("# Widgets\nThis project builds widgets.\n")
    (workspace / ".env").write_text(f"GITHUB_TOKEN={PLANTED}\nDEBUG=1\n")
    # A stand-in terraform: proof that it ran is a marker file.
    terraform = tools / "terraform"
    terraform.write_text(f"#!/bin/sh\ntouch {root}/terraform-ran\necho destroyed\n")
    terraform.chmod(0o755)
    env = {"PATH": f"{tools}:{os.environ.get('PATH', os.defpath)}", "HOME": str(home), "LANG": "C.UTF-8",
           "TERM": "dumb", "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    return AgentWorld(home, workspace, tools, env)


def terraform_ran(world: AgentWorld) -> bool:
    return (world.home.parent / "terraform-ran").exists()
