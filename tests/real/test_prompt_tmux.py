"""End to end in a real terminal (tmux, 80x24): a stand-in agent with a
full-screen UI runs a stand-in `terraform destroy` under jail; the prompt takes
the screen, keys answer it, and the agent's screen comes back."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

PROMPT = "approve this exec?"
AGENT_SCREEN = "STAND-IN AGENT SCREEN"

# Draws on the alternate screen, redraws on SIGWINCH, runs terraform, shows
# how it ended, and stays until the test is done with it.
AGENT = r"""
import os, signal, subprocess, sys, time
status = "running terraform destroy"
def draw(*_):
    sys.stdout.write("\x1b[H\x1b[2J" + "STAND-IN AGENT SCREEN\r\n" + "status: " + status + "\r\n")
    sys.stdout.flush()
signal.signal(signal.SIGWINCH, draw)
sys.stdout.write("\x1b[?1049h")
draw()
result = subprocess.run(["terraform", "destroy"], capture_output=True, text=True)
status = "terraform ended %d %s" % (result.returncode, result.stdout.strip())
draw()
while not os.path.exists("agent-may-exit"):
    time.sleep(0.05)
sys.stdout.write("\x1b[?1049l")
"""


class Terminal:
    """One tmux server of the test's own, one 80x24 window running `command`."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"jail-test-{uuid.uuid4().hex[:8]}"
        self.env = env

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, capture_output=True,
                              text=True, timeout=30, check=False)
        assert done.returncode == 0, f"tmux {args[0]}: {done.stderr}"
        return done.stdout

    def start(self, cwd: os.PathLike, command: list[str]) -> None:
        line = f"cd {shlex.quote(str(cwd))} && {shlex.join(command)}; echo JAIL-EXIT=$?; sleep 600"
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "sh", "-c", line)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown or time.monotonic() > deadline:
                return shown
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def press_until(self, key: str, done, timeout: float = 60) -> str:
        """The prompt takes answers other than deny only after it has been up a
        moment (a stray key cannot allow): press until `done(screen)`."""
        deadline = time.monotonic() + timeout
        while not done(shown := self.screen()) and time.monotonic() < deadline:
            self.keys(key)
            time.sleep(0.2)
        return shown

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, capture_output=True,
                       check=False)


@pytest.fixture
def terminal(world):
    term = Terminal(world.env)
    yield term
    term.close()


@pytest.fixture
def agent(world):
    tool = world.workspace / "bin" / "terraform"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\ntouch "terraform-ran-$1"\necho "TERRAFORM RAN: $1"\n')
    tool.chmod(0o755)
    world.env["PATH"] = f"{tool.parent}:{world.env['PATH']}"
    script = world.workspace / "agent.py"
    script.write_text(AGENT)
    return [sys.executable, "-m", "jail", "run", "--", "python3", str(script)]


def test_deny_then_allow_on_jails_own_terminal(world, terminal, agent):
    marker = world.workspace / "terraform-ran-destroy"

    terminal.start(world.workspace, agent)
    shown = terminal.wait_for(PROMPT)
    assert PROMPT in shown and "terraform destroy" in shown and "destructive.toml" in shown, shown
    assert AGENT_SCREEN not in shown  # the prompt has the screen, not the agent
    terminal.keys("d")
    shown = terminal.wait_for("terraform ended")
    assert AGENT_SCREEN in shown and PROMPT not in shown, shown
    assert "terraform ended -9" in shown  # the agent saw its terraform refused
    assert not marker.exists()
    (world.workspace / "agent-may-exit").touch()
    assert "JAIL-EXIT=0" in terminal.wait_for("JAIL-EXIT=")
    (world.workspace / "agent-may-exit").unlink()
    terminal.close()

    terminal.start(world.workspace, agent)
    assert PROMPT in terminal.wait_for(PROMPT)
    terminal.press_until("o", lambda shown: PROMPT not in shown)
    shown = terminal.wait_for("terraform ended")
    assert AGENT_SCREEN in shown and "terraform ended 0 TERRAFORM RAN: destroy" in shown, shown
    assert marker.exists()
    (world.workspace / "agent-may-exit").touch()
    assert "JAIL-EXIT=0" in terminal.wait_for("JAIL-EXIT=")


def test_always_writes_the_profile_and_the_next_run_does_not_ask(world, terminal, agent):
    profile = world.workspace / "jail.toml"
    profile.write_text('extends = ["default"]\n\n[exec]\nallow = []\n')
    assert world.jail("trust", "--yes").returncode == 0

    terminal.start(world.workspace, agent)
    assert PROMPT in terminal.wait_for(PROMPT)
    # "always" first shows the change to the profile; y writes it.
    shown = terminal.press_until("a", lambda shown: "write this change" in shown)
    assert '+allow = ["terraform destroy"]' in shown and "jail.toml" in shown, shown
    terminal.keys("y")
    shown = terminal.wait_for("terraform ended")
    assert "terraform ended 0 TERRAFORM RAN: destroy" in shown, shown
    (world.workspace / "agent-may-exit").touch()
    assert "JAIL-EXIT=0" in terminal.wait_for("JAIL-EXIT=")
    assert tomllib.loads(profile.read_text())["exec"]["allow"] == ["terraform destroy"]
    edits = [r for r in world.audit_records() if r.get("event") == "profile-edit"]
    assert edits and edits[0]["rule"] == "terraform destroy"

    # The next run neither asks to trust the edited profile nor about terraform.
    (world.workspace / "terraform-ran-destroy").unlink()
    result = world.run("terraform", "destroy")
    assert result.returncode == 0, result.stderr
    assert "TERRAFORM RAN: destroy" in result.stdout
