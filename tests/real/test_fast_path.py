"""The C fast path repeats only what Python decided, for the same object at the
same path, unchanged: each test first makes the fast path answer opens of a
clean file (the session's fast-path record proves it did), then changes what
that name or that file is, and shows the next open gets Python's answer for
the new object, not the cached one."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.real.conftest import SECRET

pytestmark = pytest.mark.real

TOKEN = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
CLEAN = "nothing secret here, just a line of text\n"
PRIME = "for _ in range(3): print(open('clean.txt').read(), end='')"


def _run(world, body: str):
    script = textwrap.dedent(body)
    result = world.run("python3", "-c", script)
    records = world.audit_records()
    served = [r for r in records if r.get("event") == "fast-path"]
    assert served, "no fast-path record: the fast path is not in use"
    return result, served[-1], records


def test_a_secret_renamed_over_a_cached_name_is_redacted(world):
    (world.workspace / "clean.txt").write_text(CLEAN)
    (world.workspace / "secret.txt").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    result, served, records = _run(world, f"""
        import os
        {PRIME}
        os.rename('secret.txt', 'clean.txt')
        print(open('clean.txt').read())
    """)
    assert result.returncode == 0, result.stderr
    assert served["opens_served"] >= 2  # the 2nd and 3rd read of clean.txt
    assert result.stdout.count(CLEAN) == 3
    assert TOKEN not in result.stdout and TOKEN not in json.dumps(records)
    assert "REDACTED_BY_POLICY:github-pat-classic:" in result.stdout


def test_a_symlink_swapped_to_a_denied_file_is_denied(world):
    (world.workspace / "clean.txt").write_text(CLEAN)
    (world.workspace / "link.txt").symlink_to("clean.txt")
    result, served, _ = _run(world, f"""
        import os
        for _ in range(3): print(open('link.txt').read(), end='')
        os.symlink({str(world.ssh_key)!r}, 'tmp-link')
        os.replace('tmp-link', 'link.txt')
        try:
            print(open('link.txt').read())
        except PermissionError:
            print('denied')
    """)
    assert result.returncode == 0, result.stderr
    assert served["opens_served"] >= 2
    assert result.stdout.count(CLEAN) == 3
    assert "denied" in result.stdout and SECRET not in result.stdout


def test_a_secret_written_into_a_cached_file_is_redacted(world):
    line = f"TOKEN={TOKEN}\n"
    (world.workspace / "clean.txt").write_text("x" * (len(line) - 1) + "\n")  # same size after
    result, served, _ = _run(world, f"""
        for _ in range(3): print(open('clean.txt').read(), end='')
        with open('clean.txt', 'r+') as f:
            f.write({line!r})
        print(open('clean.txt').read())
    """)
    assert result.returncode == 0, result.stderr
    assert served["opens_served"] >= 2
    assert TOKEN not in result.stdout
    assert "REDACTED_BY_POLICY:github-pat-classic:" in result.stdout


def test_the_same_file_under_another_name_gets_that_names_verdict(world):
    # One inode, two names made before jail starts, so nothing about the file
    # changes: only the path tells them apart. The profile redacts every value
    # of files named *.values; the other name is served as it is.
    profile = world.workspace.parent / "profile.toml"
    profile.write_text('extends = ["default"]\n[redact]\nalways = ["**/*.values"]\n')
    world.jail("trust", "--yes", str(profile))
    text = "MODE=dev-d8f7a6c5b4e3\n"
    (world.workspace / "clean.txt").write_text(text)
    (world.workspace / "app.values").hardlink_to(world.workspace / "clean.txt")
    script = ("for _ in range(3): print(open('clean.txt').read(), end='')\n"
              "print(open('app.values').read(), end='')")
    result = world.run("python3", "-c", script, args=("--profile", str(profile)))
    assert result.returncode == 0, result.stderr
    served = [r for r in world.audit_records() if r.get("event") == "fast-path"]
    assert served and served[-1]["opens_served"] >= 2
    lines = result.stdout.splitlines()
    assert lines[:3] == [text.strip()] * 3
    assert "dev-d8f7a6c5b4e3" not in lines[3] and "REDACTED_BY_POLICY" in lines[3]


def test_a_denied_file_is_denied_and_recorded_every_time(world):
    result, _, records = _run(world, f"""
        for _ in range(3):
            try:
                open({str(world.ssh_key)!r}).read()
            except PermissionError:
                print('denied')
    """)
    assert result.stdout.count("denied") == 3
    denials = [r for r in records if r.get("event") == "file" and r.get("verdict") == "deny"
               and r.get("target") == str(world.ssh_key)]
    assert len(denials) == 3  # a denial is never cached and always recorded


def test_an_open_with_no_free_fd_is_answered_emfile_not_left_waiting(world):
    (world.workspace / "clean.txt").write_text(CLEAN)
    result, served, _ = _run(world, """
        import os, resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
        for _ in range(3):
            os.close(os.open('clean.txt', os.O_RDONLY))
        fds = []
        try:
            while True:
                fds.append(os.open('clean.txt', os.O_RDONLY))
        except OSError as error:
            print('stopped', error.errno)
    """)
    assert result.returncode == 0, result.stderr
    assert served["opens_served"] >= 2
    assert "stopped 24" in result.stdout  # EMFILE


def test_a_write_only_open_of_a_secret_file_never_makes_a_read_write_one_fast(world):
    """`>>` on a secret-bearing file is allowed (its secrets are restored on
    close); a read-write open of it must still be refused, however often the
    write-only open was made before."""
    token = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    (world.workspace / ".env").write_text(f"GITHUB_TOKEN={token}\n")
    script = ("import os\n"
              "w = os.open('.env', os.O_WRONLY)\n"
              "try:\n"
              "    rw = os.open('.env', os.O_RDWR)\n"
              "    print(os.read(rw, 200))\n"
              "except PermissionError:\n"
              "    print('refused')\n")
    result = world.run("python3", "-c", script)
    assert token not in result.stdout and token not in result.stderr
    assert "refused" in result.stdout, result.stderr
    assert (world.workspace / ".env").read_text() == f"GITHUB_TOKEN={token}\n"
