"""Ordinary tools run normally under jail inside a workspace."""

from __future__ import annotations

import shutil

import pytest


def test_git_init_add_commit(world):
    script = ("git init -q demo && cd demo && echo hi > a && git add a && "
              "git -c user.name=t -c user.email=t@example.invalid commit -qm a && git log --oneline | wc -l")
    result = world.run("bash", "-lc", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert (world.workspace / "demo" / ".git").is_dir()


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_node_reads_and_writes(world):
    js = ("const fs = require('fs'); fs.writeFileSync('n.txt', 'from node');"
          "console.log(fs.readFileSync('n.txt', 'utf8'), require('os').cpus().length > 0)")
    result = world.run("node", "-e", js)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from node true"


def test_gcc_build_with_make(world):
    (world.workspace / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("built");return 0;}\n')
    (world.workspace / "util.c").write_text("int util(void){return 1;}\n")
    (world.workspace / "Makefile").write_text("hello: hello.o util.o\n\tcc -o $@ $^\n")
    result = world.run("bash", "-c", "make -j2 -s && ./hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("built")


def test_python_imports_and_subprocesses(world):
    code = ("import asyncio, json, sqlite3, subprocess, tempfile, pathlib;"
            "d = tempfile.mkdtemp(); pathlib.Path(d, 'x').write_text('ok');"
            "print(subprocess.run(['cat', d + '/x'], capture_output=True, text=True).stdout)")
    result = world.run("python3", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_bash_pipelines_and_redirections(world):
    result = world.run("bash", "-c", "seq 1 1000 | sort -rn | head -3 > top && cat top && wc -l < top")
    assert result.stdout.split() == ["1000", "999", "998", "3"]
