"""Every exec is verified at the ptrace exec event, from the kernel's copy."""

from __future__ import annotations

import json
import signal


def _exec_records(world) -> list[dict]:
    return [r for r in world.audit_records() if r.get("event") == "exec"]


def test_every_exec_is_recorded_with_the_argv_the_kernel_ran(world):
    result = world.run("bash", "-c", "/bin/echo one two; env LC_ALL=C true")
    assert result.returncode == 0, result.stderr
    argvs = [r["argv"] for r in _exec_records(world)]
    assert ["/bin/echo", "one", "two"] in argvs
    assert ["true"] in argvs  # env's own exec of true is seen too
    echo = next(r for r in _exec_records(world) if r["argv"][0] == "/bin/echo")
    assert echo["exe"] == "/usr/bin/echo" and echo["verdict"] == "allow"


def test_code_that_is_not_a_file_on_disk_does_not_run(world):
    script = ("import os\n"
              "fd = os.memfd_create('payload')\n"
              "os.write(fd, open('/bin/echo', 'rb').read())\n"
              "os.execve(fd, ['echo', 'RAN-FROM-MEMFD'], {})\n")
    result = world.run("python3", "-c", script)
    assert "RAN-FROM-MEMFD" not in result.stdout
    assert result.returncode == 128 + signal.SIGKILL
    denied = [r for r in _exec_records(world) if r["verdict"] == "deny"]
    assert denied and denied[0]["exe"].startswith("/memfd:"), json.dumps(denied)


def test_a_failing_exec_returns_its_errno_and_the_caller_goes_on(world):
    (world.workspace / "data.txt").write_text("not a program\n")
    script = ("import os\n"
              "for path in ('/nonexistent', 'data.txt'):\n"
              "    try:\n"
              "        os.execv(path, [path])\n"
              "    except OSError as e:\n"
              "        print(path, e.errno)\n"
              "print('still here')\n")
    result = world.run("python3", "-c", script)
    assert result.stdout.splitlines() == ["/nonexistent 2", "data.txt 13", "still here"]


def test_threads_and_vfork_spawns_keep_working(world):
    script = ("import subprocess, threading\n"
              "out = []\n"
              "def spawn(i):\n"
              "    out.append(subprocess.run(['echo', str(i)], capture_output=True, text=True).stdout)\n"
              "threads = [threading.Thread(target=spawn, args=(i,)) for i in range(16)]\n"
              "[t.start() for t in threads]; [t.join() for t in threads]\n"
              "print(sorted(int(x) for x in out) == list(range(16)))\n")
    result = world.run("python3", "-c", script)
    assert result.stdout.strip() == "True", result.stderr


def test_an_argv_swapping_thread_cannot_sneak_a_denied_command_through(world, progs):
    tool = world.workspace / "bin" / "terraform"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\necho "RAN $1"\n')
    tool.chmod(0o755)
    (world.workspace / "jail.toml").write_text(
        'extends = ["default"]\n[exec]\ndeny = ["terraform destroy *"]\n')
    result = world.run(str(progs["race_exec"]), str(tool), "300", args=("--trust-project",), timeout=240)
    ran = result.stdout.split("\n")
    assert "RAN plan" in ran  # the race really ran and allowed runs went through
    assert "RAN destroy" not in ran, result.stdout[-500:]
    denied = [r for r in _exec_records(world) if r["verdict"] == "deny"]
    assert denied, "the flipper never won a single race: the test proves nothing"
    assert all(r["argv"][-1] == "destroy" for r in denied)  # the kernel's copy, never the flipped one
