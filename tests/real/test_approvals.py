"""A destructive command waits for a person at its exec event; the answer
comes from `jail approve` in another terminal, or the fallback denies."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

import pytest
from conftest import read_until, waiting_request

SCRIPT = "terraform plan; terraform destroy -auto-approve; echo after=$?"


@pytest.fixture
def terraform(world):
    tool = world.workspace / "bin" / "terraform"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\necho "TERRAFORM RAN: $1"\n')
    tool.chmod(0o755)
    world.env["PATH"] = f"{tool.parent}:{world.env['PATH']}"
    return tool


def test_with_no_one_to_ask_the_fallback_denies_at_once(world, terraform):
    started = time.monotonic()
    result = world.run("bash", "-c", SCRIPT)
    assert time.monotonic() - started < 30  # CI never waits for the 120 s timeout
    assert "TERRAFORM RAN: plan" in result.stdout
    assert "TERRAFORM RAN: destroy" not in result.stdout
    assert "after=137" in result.stdout  # the shell went on; only terraform destroy was stopped
    records = world.audit_records()
    answers = [r for r in records if r.get("event") == "approval-answer"]
    assert answers and answers[0]["decision"]["answer"] == "deny"
    assert answers[0]["decision"]["answerer"] == "no one to ask"


@pytest.mark.parametrize(("answer", "ran"), [("once", True), ("deny", False)])
def test_jail_approve_in_another_terminal_answers(world, terraform, answer, ran):
    # jail has a terminal: its own prompt is up, and `jail approve` answers first.
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(world.workspace)
        os.execve(sys.executable, [sys.executable, "-m", "jail", "run", "--", "bash", "-c", SCRIPT],
                  world.env)
    seen = read_until(fd, rb"approve this exec", b"")
    assert b"approve this exec" in seen, seen
    waiting = waiting_request(world)
    assert "destroy" in waiting["request"]["argv"]
    answered = subprocess.run([sys.executable, "-m", "jail", "approve", "--answer", waiting["id"], answer],
                              env=world.env, capture_output=True, text=True, timeout=30)
    assert answered.returncode == 0, answered.stderr
    seen = read_until(fd, rb"after=\d+\r?\n", seen)
    os.waitpid(pid, 0)
    assert (b"TERRAFORM RAN: destroy" in seen) == ran, seen
    assert (b"after=0" in seen) == ran
    answers = [r for r in world.audit_records() if r.get("event") == "approval-answer"]
    assert [a["decision"]["answerer"].split(" (")[0] for a in answers] == ["jail approve"]


def test_the_profiles_timeout_falls_back_to_deny(world, terraform):
    """A person is there (jail has a terminal, its prompt is up) but does not
    answer: after the profile's [approval] timeout the fallback denies."""
    (world.workspace / "jail.toml").write_text('[approval]\ntimeout = "2s"\nwhen_no_one_answers = "deny"\n')
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(world.workspace)
        os.execve(sys.executable, [sys.executable, "-m", "jail", "run", "--trust-project", "--",
                                   "bash", "-c", SCRIPT], world.env)
    seen = read_until(fd, rb"after=\d+\r?\n", b"", timeout=60)
    os.waitpid(pid, 0)
    assert b"after=137" in seen and b"TERRAFORM RAN: destroy" not in seen, seen
    answers = [r for r in world.audit_records() if r.get("event") == "approval-answer"]
    assert answers and answers[0]["decision"]["answer"] == "deny"
    assert answers[0]["decision"]["answerer"] == "timeout"


def test_a_project_profile_cannot_make_silence_an_allow(world, terraform):
    (world.workspace / "jail.toml").write_text('[approval]\nwhen_no_one_answers = "allow"\n')
    result = world.run("bash", "-c", SCRIPT, args=("--trust-project",))
    assert result.returncode == 2 and "jail.toml:2:" in result.stderr
    assert "TERRAFORM RAN" not in result.stdout


def test_the_agent_cannot_reach_its_own_approval_socket(world):
    script = ("import os, socket, glob\n"
              "from jail.approve.server import socket_dir\n"
              "path = str(socket_dir()) + '/' + os.environ['JAIL_SESSION'] + '.sock'\n"
              "s = socket.socket(socket.AF_UNIX)\n"
              "try:\n"
              "    s.connect(path); print('CONNECTED')\n"
              "except OSError as e:\n"
              "    print('refused', e.errno)\n"
              "print(glob.glob(str(socket_dir()) + '/*'))\n")
    result = world.run(sys.executable, "-c", script)
    assert "CONNECTED" not in result.stdout
    assert "refused 13" in result.stdout and "[]" in result.stdout
