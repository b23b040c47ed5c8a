"""Lifetime: exit status, signals, terminals, and nothing outliving jail."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
import uuid

import pytest
from conftest import processes_with, read_until


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_status_passes_through(world, code):
    assert world.run("sh", "-c", f"exit {code}").returncode == code


def test_death_by_signal_is_reported_as_128_plus_signal(world):
    assert world.run("sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM


def test_missing_command_is_127_with_a_clear_message(world):
    result = world.run("no-such-agent-binary")
    assert result.returncode == 127
    assert "no-such-agent-binary: command not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("namespaces", ["auto", "none"])
def test_sigkill_of_jail_leaves_nothing_behind(world, namespaces):
    marker = f"jail-orphan-{uuid.uuid4().hex}"
    # A double fork plus setsid: the classic way to escape a parent.
    script = f"(setsid sh -c 'exec -a {marker} sleep 300' &) ; exec -a {marker}-main sleep 300"
    proc = subprocess.Popen([sys.executable, "-m", "jail", "run", "--", "bash", "-c", script],
                            cwd=world.workspace, env={**world.env, "JAIL_NAMESPACES": namespaces},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: len(processes_with(marker)) >= 2), "sandboxed processes did not start"
        proc.kill()
        proc.wait()
        assert _wait_for(lambda: not processes_with(marker)), processes_with(marker)
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("namespaces", ["auto", "none"])
def test_the_sandbox_cannot_signal_jail(world, namespaces):
    jail_pid_file = world.workspace / "jail.pid"
    # By pid, by its parent, pid 1, the whole process group jail shares with the
    # agent (kill 0 and -pgid), and every process it may signal (kill -1).
    script = ("import os, signal, sys\n"
              "pid = int(open('jail.pid').read())\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "for target in (pid, os.getppid(), 1, 0, -os.getpgrp(), -1):\n"
              "    try:\n"
              "        os.kill(target, signal.SIGTERM if target <= 0 else signal.SIGKILL)\n"
              "        print('sent', target)\n"
              "    except OSError as e:\n"
              "        print('refused', target, e.errno)\n"
              "print('survived')\n")
    proc = subprocess.Popen([sys.executable, "-m", "jail", "run", "--", "python3", "-c", script],
                            cwd=world.workspace, env={**world.env, "JAIL_NAMESPACES": namespaces},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    jail_pid_file.write_text(str(proc.pid))
    out, err = proc.communicate(timeout=60)
    # jail itself outlived every attempt and passed the agent's status through.
    assert proc.returncode == 0, (out, err)
    assert "survived" in out


def test_sigterm_to_jail_reaches_the_command_once(world):
    script = "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done"
    proc = subprocess.Popen([sys.executable, "-m", "jail", "run", "--", "bash", "-c", script],
                            cwd=world.workspace, env=world.env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert out.count("got-term") == 1
    assert proc.returncode == 9


def _pty_run(world, command: list[str]):
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(world.workspace)
        os.execve(sys.executable, [sys.executable, "-m", "jail", "run", "--", *command], world.env)
    return pid, fd


def test_ctrl_c_on_the_terminal_reaches_the_command_once(world):
    script = ("import signal, sys, time\n"
              "n = 0\n"
              "def h(*_):\n"
              "    global n; n += 1\n"
              "signal.signal(signal.SIGINT, h)\n"
              "print('ready', flush=True)\n"
              "time.sleep(2)\n"
              "print('interrupts', n, flush=True)\n")
    pid, fd = _pty_run(world, ["python3", "-c", script])
    assert b"ready" in read_until(fd, b"ready")
    os.write(fd, b"\x03")
    out = read_until(fd, rb"interrupts \d+")
    _, status = os.waitpid(pid, 0)
    assert b"interrupts 1" in out, out
    assert os.waitstatus_to_exitcode(status) == 0


def test_terminal_resize_reaches_the_command(world):
    import fcntl
    import struct
    import termios
    script = ("import signal, os, time\n"
              "signal.signal(signal.SIGWINCH, lambda *_: print('size', os.get_terminal_size(), flush=True))\n"
              "print('ready', flush=True)\n"
              "time.sleep(3)\n")
    pid, fd = _pty_run(world, ["python3", "-c", script])
    assert b"ready" in read_until(fd, b"ready")
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    out = read_until(fd, b"lines=33")
    os.waitpid(pid, 0)
    assert b"columns=101, lines=33" in out, out


def test_dev_tty_is_the_commands_own_terminal(world):
    pid, fd = _pty_run(world, ["bash", "-c", "echo via-dev-tty > /dev/tty; tty"])
    out = read_until(fd, b"/dev/pts/")
    os.waitpid(pid, 0)
    assert b"via-dev-tty" in out
