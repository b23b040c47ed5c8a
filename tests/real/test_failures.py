"""Bad input gets a clear error and loses nothing; jail fails closed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import SECRET, processes_with


def test_a_broken_profile_is_a_file_line_error_and_nothing_runs(world):
    (world.workspace / "jail.toml").write_text('extends = ["default"]\n\n[files]\ndenny = ["~/.ssh"]\n')
    result = world.run("touch", "ran", args=("--trust-project",))
    assert result.returncode == 2
    assert f"{world.workspace / 'jail.toml'}:4:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (world.workspace / "ran").exists()


def test_an_untrusted_project_profile_is_refused_without_a_terminal(world):
    (world.workspace / "jail.toml").write_text('extends = ["default"]\n[workspace]\nwritable = ["~"]\n')
    result = world.run("touch", "ran")
    assert result.returncode == 3
    assert "trust" in result.stderr
    assert not (world.workspace / "ran").exists()


HARNESS = textwrap.dedent("""
    import sys
    from jail.cli import main
    import jail.supervisor.loop as loop
    from jail.syscalls import Family
    mode = sys.argv[1]
    if mode == "handler":
        def broken(ctx, req):
            raise RuntimeError("bug in a handler")
        loop.HANDLERS[Family.OPEN] = broken
    else:
        original = loop.Supervisor._handle
        calls = {"n": 0}
        def crash(self, notif):
            calls["n"] += 1
            if calls["n"] > 50:
                raise SystemError("the loop itself broke")
            return original(self, notif)
        loop.Supervisor._handle = crash
    sys.exit(main(["run", "--", *sys.argv[2:]]))
""")


def test_a_handler_error_answers_a_denial(world):
    result = subprocess.run([sys.executable, "-c", HARNESS, "handler", "cat", str(world.ssh_key)],
                            cwd=world.workspace, env=world.env, capture_output=True, text=True, timeout=60)
    assert SECRET not in result.stdout
    assert result.returncode != 0
    errors = [r for r in world.audit_records() if r.get("event") == "error"]
    assert errors and "bug in a handler" in errors[0]["reason"]


def test_a_supervisor_crash_stops_the_sandbox_and_says_so(world):
    marker = "jail-crash-marker"
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, "loop", "bash", "-c",
         f"(exec -a {marker} sleep 300 &); for i in $(seq 200); do cat /etc/hostname >/dev/null; done; "
         "sleep 300"],
        cwd=world.workspace, env=world.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 125
    assert "supervisor failed" in result.stderr
    assert not processes_with(marker)


def test_on_a_terminal_jail_asks_before_trusting_a_project_profile(world):
    import pty
    import select
    import time
    (world.workspace / "jail.toml").write_text('extends = ["default"]\n')

    def session(answer: bytes) -> tuple[bytes, int]:
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(world.workspace)
            os.execve(sys.executable, [sys.executable, "-m", "jail", "run", "--", "touch", "ran"], world.env)
        seen, deadline = b"", time.monotonic() + 30
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                seen += os.read(fd, 4096)
        os.write(fd, answer)
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        return seen, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    shown, code = session(b"n\n")
    assert b'extends = ["default"]' in shown and code == 3
    assert not (world.workspace / "ran").exists()
    shown, code = session(b"y\n")
    assert code == 0 and (world.workspace / "ran").exists()
    (world.workspace / "ran").unlink()
    # Trusted now: no question; after a change, the diff is shown and asked again.
    assert world.run("touch", "ran").returncode == 0
    (world.workspace / "jail.toml").write_text('extends = ["default"]\n[workspace]\nwritable = ["~"]\n')
    shown, code = session(b"n\n")
    assert b'+writable = ["~"]' in shown and code == 3
