"""The approval prompt on jail's own terminal. The pty proxy on its own, between
a real pty standing in for jail's terminal and a process on the agent's pty;
then end to end in a real terminal (tmux, 80x24): a stand-in agent with a
full-screen UI runs a stand-in `terraform destroy` under jail; the prompt takes
the screen, keys answer it, and the agent's screen comes back."""

from __future__ import annotations

import fcntl
import os
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import tomllib
import uuid

import pytest
from approve_helpers import wait_until
from conftest import processes_with

from jail.terminal import ENTER_ALT_SCREEN, TerminalProxy

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

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


# An agent on its own pty: enters the alternate screen, says what it reads,
# says when it is resized, and prints on SIGUSR1.
PTY_AGENT = r"""
import os, signal, sys
def resized(*_):
    print("resized to %d rows" % os.get_terminal_size().lines, flush=True)
signal.signal(signal.SIGWINCH, resized)
signal.signal(signal.SIGUSR1, lambda *_: print("written while held", flush=True))
print("\x1b[?1049hready", flush=True)
for line in sys.stdin:
    print("got " + line.strip(), flush=True)
"""


def _read_for(fd: int, needle: bytes, seen: bytes = b"", timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            seen += os.read(fd, 4096)
    return seen


@pytest.fixture
def proxied():
    """(proxy, the person's side of jail's terminal, the agent process)."""
    person, jails_tty = os.openpty()
    fcntl.ioctl(jails_tty, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proxy = TerminalProxy(jails_tty, jails_tty)
    slave = proxy.slave

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    agent = subprocess.Popen([sys.executable, "-c", PTY_AGENT], stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True, preexec_fn=take_terminal)  # noqa: PLW1509
    proxy.start()
    yield proxy, person, agent
    agent.kill()
    agent.wait()
    proxy.close(drain=5)
    os.close(person)
    os.close(jails_tty)


def test_the_proxy_holds_the_agents_screen_and_gives_it_back(proxied):
    proxy, person, agent = proxied
    assert b"ready" in _read_for(person, b"ready")
    assert proxy.alt_screen
    os.write(person, b"one\r")
    assert b"got one" in _read_for(person, b"got one")

    proxy.hold()
    os.kill(agent.pid, signal.SIGUSR1)
    wait_until(lambda: b"written while held" in proxy._held_output, timeout=20)
    assert not select.select([person], [], [], 0)[0]  # held, not shown
    os.write(person, b"for the prompt\r")  # keys typed while held are the prompt's...
    assert os.read(proxy.fd_in, 100) == b"for the prompt\r"  # ...still there for it to read

    proxy.release()
    shown = _read_for(person, b"resized to 24 rows")
    # back on its screen (the line end of "got one" may have been held too)
    assert shown.startswith(ENTER_ALT_SCREEN), shown
    assert shown[len(ENTER_ALT_SCREEN):].lstrip(b"\r\n").startswith(b"written while held"), shown
    assert b"resized to 23 rows" in shown  # the wiggle that makes it redraw
    os.write(person, b"two\r")
    assert b"got two" in _read_for(person, b"got two")


def test_when_jails_terminal_hangs_up_the_agents_session_hears_it(proxied):
    proxy, person, agent = proxied
    assert b"ready" in _read_for(person, b"ready")
    held_elsewhere = os.dup(proxy.master)  # as the sandbox's init, cloned from jail, holds one
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, person)  # jail's terminal goes away (the fixture closes the number later)
        os.close(null)
        assert agent.wait(timeout=30) == -signal.SIGHUP
    finally:
        os.close(held_elsewhere)


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

    def new_session(self, *args: str) -> None:
        for _ in range(3):  # a fresh server sometimes exits while starting: try again
            done = subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-x", "80", "-y", "24",
                                   *args], env=self.env, capture_output=True, text=True, timeout=30)
            if done.returncode == 0:
                return
        raise AssertionError(f"tmux new-session: {done.stderr}")

    def start(self, cwd: os.PathLike, command: list[str]) -> None:
        line = f"cd {shlex.quote(str(cwd))} && {shlex.join(command)}; echo JAIL-EXIT=$?; sleep 600"
        self.new_session("sh", "-c", line)

    def start_shell(self, cwd: os.PathLike) -> None:
        """An interactive shell, for job control."""
        self.new_session("-c", str(cwd), "bash", "--norc", "--noprofile")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        return self.wait_until(lambda shown: text in shown, timeout)

    def wait_until(self, done, timeout: float = 60) -> str:
        """The screen once `done(screen)` holds (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if done(shown) or time.monotonic() > deadline:
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
    tool.write_text('#!/bin/sh\ntouch "terraform-ran-$1$2"\necho "TERRAFORM RAN: $1"\n')
    tool.chmod(0o755)
    world.env["PATH"] = f"{tool.parent}:{world.env['PATH']}"
    script = world.workspace / "agent.py"
    script.write_text(AGENT)
    return [sys.executable, "-m", "jail", "run", "--", "python3", str(script)]


@needs_tmux
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


@needs_tmux
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


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _agent(marker: str) -> list[int]:
    """The sandboxed counter (jail and its shim carry the marker in their argv too)."""
    found = []
    for pid in processes_with(marker):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"-m\0jail\0" not in f.read():
                found.append(pid)
    return found


@needs_tmux
def test_ctrl_z_stops_jail_with_the_agent_and_fg_continues_both(world, terminal):
    marker = f"ctrl-z-{uuid.uuid4().hex[:6]}"
    counter = ("import os, sys, time\n"
               "i = 0\n"
               "while not os.path.exists('stop'):\n"
               "    i += 1; print('tick', i, flush=True); time.sleep(0.1)\n"
               "sys.exit(7)\n")
    (world.workspace / "counter.py").write_text(counter)
    terminal.start_shell(world.workspace)
    command = [sys.executable, "-m", "jail", "run", "--", "python3", "counter.py", marker]
    terminal.keys(shlex.join(command), "Enter")
    assert "tick 3" in terminal.wait_for("tick 3")
    agent = _agent(marker)
    assert len(agent) == 1
    terminal.keys("C-z")
    assert "Stopped" in terminal.wait_for("Stopped")
    wait_until(lambda: _state(agent[0]) == "T", timeout=20)  # the agent stopped with jail
    terminal.keys('fg; echo "fg-""status=$?"', "Enter")
    wait_until(lambda: _state(agent[0]) != "T", timeout=20)
    ticks = terminal.screen().count("tick")
    wait_until(lambda: terminal.screen().count("tick") > ticks, timeout=20)  # it counts again
    (world.workspace / "stop").touch()
    assert "fg-status=7" in terminal.wait_for("fg-status=")  # its exit status came through



@needs_tmux
def test_requests_arriving_while_a_prompt_is_up_wait_their_turn(world, terminal, agent):
    # Two destructive commands at once: one prompt at a time, each answered on its own.
    script = world.workspace / "two.sh"  # a file: the prompt's agent line does not name the targets
    script.write_text("terraform destroy -target=a & terraform destroy -target=b & wait; echo BOTH-DONE\n")
    terminal.start(world.workspace, [*agent[:5], "bash", str(script)])
    first = terminal.wait_for(PROMPT)
    denied = "-target=a" if "-target=a" in first else "-target=b"
    allowed = "-target=b" if denied == "-target=a" else "-target=a"
    assert PROMPT in first and allowed not in first, first
    terminal.keys("d")
    # The held "waiting for approval" notices name both targets too: wait for
    # the second prompt itself.
    second = terminal.wait_until(lambda shown: PROMPT in shown and allowed in shown)
    assert PROMPT in second and allowed in second, second
    terminal.press_until("o", lambda shown: PROMPT not in shown)
    assert "BOTH-DONE" in terminal.wait_for("BOTH-DONE")
    ran = {p.name for p in world.workspace.glob("terraform-ran-*")}
    assert ran == {f"terraform-ran-destroy{allowed}"}


TTY_PROBE = r"""
import glob, os
own = os.ttyname(0)
for path in sorted(glob.glob("/dev/pts/[0-9]*")):
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NOCTTY))
        print(path, "own" if path == own else "other", "opened")
    except OSError as error:
        print(path, "own" if path == own else "other", "refused", error.errno)
print("PROBED")
"""


@needs_tmux
def test_the_agent_cannot_open_jails_own_terminal(world, terminal):
    # Writing there could dress up the prompt; reading could take its keys.
    (world.workspace / "probe.py").write_text(TTY_PROBE)
    terminal.start(world.workspace, [sys.executable, "-m", "jail", "run", "--", "python3", "probe.py"])
    shown = terminal.wait_for("PROBED")
    jails_tty = terminal.tmux("list-panes", "-F", "#{pane_tty}").strip()
    lines = {line.split()[0]: line for line in shown.splitlines() if line.startswith("/dev/pts/")}
    assert lines[jails_tty].endswith("refused 13"), shown
    assert any(line.endswith("own opened") for line in lines.values()), shown


@needs_tmux
def test_with_stderr_redirected_the_agent_keeps_jails_stdio(world, terminal):
    errors = world.workspace / "errors.log"
    command = [sys.executable, "-m", "jail", "run", "--", "sh", "-c", "echo to-stderr >&2; tty"]
    terminal.start(world.workspace, [*command])
    own = terminal.wait_for("JAIL-EXIT=")
    first_tty = terminal.tmux("list-panes", "-F", "#{pane_tty}").strip()
    terminal.close()  # its pty numbers may be handed out again below: compare within one session
    terminal.new_session("sh", "-c", f"cd {shlex.quote(str(world.workspace))} && {shlex.join(command)} "
                         f"2>{shlex.quote(str(errors))}; echo JAIL-EXIT=$?; sleep 600")
    redirected = terminal.wait_for("JAIL-EXIT=")
    jails_tty = terminal.tmux("list-panes", "-F", "#{pane_tty}").strip()
    assert "to-stderr" in own and first_tty not in own  # on a pty of jail's
    assert errors.read_text() == "to-stderr\n" and jails_tty in redirected  # as without jail


@needs_tmux
def test_when_jails_terminal_goes_away_so_does_the_agent(world, terminal):
    marker = f"hangup-{uuid.uuid4().hex[:6]}"
    command = [sys.executable, "-m", "jail", "run", "--", "python3", "-c",
               "import time\nprint('waiting', flush=True)\nwhile True: time.sleep(1)", marker]
    terminal.start(world.workspace, command)
    assert "waiting" in terminal.wait_for("waiting")
    assert processes_with(marker)
    terminal.close()  # the terminal hangs up
    wait_until(lambda: not processes_with(marker), timeout=30)
