"""The workloads: things coding agents do all day, made on the spot.

Each workload builds its inputs in a directory of its own (generated, or
copied from the installed Python standard library; nothing is downloaded)
and returns the command that is then timed bare, under jail and under
bubblewrap. The command runs with that directory as its working directory and
may write inside it (under jail it is the workspace, under bubblewrap it is
bound read-write). Every command is repeatable: running it again does the
same work (builds are forced, caches are not left warm by one mode only).

`quick=True` makes a tiny version of each, for the smoke test.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    build: Callable[[Path, bool], list[str]]  # (directory, quick) -> command


def _stdlib_sources(limit: int | None = None, include_tests: bool = True) -> list[Path]:
    """The standard library's .py files (sorted, so every run copies the same ones)."""
    files = []
    for path in sorted(STDLIB.rglob("*.py")):
        rel = path.relative_to(STDLIB)
        if rel.parts[0] in ("site-packages", "__pycache__") or "__pycache__" in rel.parts:
            continue
        if not include_tests and ("test" in rel.parts or "tests" in rel.parts or "idle_test" in rel.parts):
            continue
        files.append(path)
        if limit is not None and len(files) >= limit:
            break
    return files


def _copy_sources(files: list[Path], dest: Path) -> int:
    count = 0
    for src in files:
        target = dest / src.relative_to(STDLIB)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        count += 1
    return count


# -- grep ---------------------------------------------------------------------

def build_grep(root: Path, quick: bool) -> list[str]:
    """Recursive grep over copies of the standard library's sources."""
    files = _stdlib_sources(limit=40 if quick else None)
    for copy in range(1 if quick else 4):
        _copy_sources(files, root / "tree" / f"copy{copy}")
    # Searches as an agent looking for a symbol's definition and its uses runs them.
    searches = ("grep -rn -E 'def [a-z_]+\\(self, [a-z]+' tree",
                "grep -rl 'import threading' tree",
                "grep -rc -F 'TODO' tree",
                "grep -rn -w 'select' --include='*.py' tree",
                "grep -rli 'copyright' tree")
    return ["sh", "-c", "; ".join(f"{s} > /dev/null" for s in searches)]


# -- compileall ---------------------------------------------------------------

COMPILE_PACKAGES = ("asyncio", "email", "unittest", "xml", "http", "concurrent", "importlib", "logging",
                    "multiprocessing", "urllib", "json", "idlelib", "lib2to3", "distutils", "tkinter",
                    "ctypes", "collections", "encodings")


def build_compileall(root: Path, quick: bool) -> list[str]:
    """`python -m compileall -f` of a copy of several standard-library packages."""
    files = []
    for package in (COMPILE_PACKAGES[:1] if quick else COMPILE_PACKAGES):
        files += [p for p in sorted((STDLIB / package).rglob("*.py"))
                  if not {"__pycache__", "test", "tests", "idle_test"} & set(p.parts)]
    if quick:
        files = files[:10]
    _copy_sources(files, root / "pkg")
    return [sys.executable, "-m", "compileall", "-q", "-f", "pkg"]


# -- pytest -------------------------------------------------------------------

_TEST_MODULE = '''\
import json
import re

import pytest

from helpers import checksum, normalise


@pytest.fixture
def payload():
    return {{"module": {m}, "items": list(range(50))}}


{tests}
'''

_TEST_FUNC = '''\
def test_{m}_{i}(payload, tmp_path):
    text = json.dumps(payload) * {rep}
    assert checksum(text) == checksum(text)
    assert normalise("  A  b  ") == "a b"
    assert re.findall(r"\\d+", text)[:3] == ["{m}", "0", "1"]
    if {i} % 5 == 0:
        out = tmp_path / "out.json"
        out.write_text(json.dumps(payload))
        assert json.loads(out.read_text()) == payload


@pytest.mark.parametrize("n", range(3))
def test_{m}_{i}_param(n):
    assert sum(range(n + {i})) >= 0

'''

_HELPERS = '''\
import hashlib


def checksum(text):
    return hashlib.sha256(text.encode()).hexdigest()


def normalise(text):
    return " ".join(text.split()).lower()
'''


def build_pytest(root: Path, quick: bool) -> list[str]:
    """A generated pytest suite: modules, fixtures, parametrised tests, tmp_path files."""
    modules, per_module = (2, 2) if quick else (40, 12)
    tests = root / "tests"
    tests.mkdir(parents=True)
    (tests / "helpers.py").write_text(_HELPERS)
    (tests / "conftest.py").write_text("import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n")
    for m in range(modules):
        body = "".join(_TEST_FUNC.format(m=m, i=i, rep=1 + i % 3) for i in range(per_module))
        (tests / f"test_mod{m:03d}.py").write_text(_TEST_MODULE.format(m=m, tests=body))
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    # The basetemp lives in the workload directory, so every mode writes to the same kind of place.
    return [sys.executable, "-m", "pytest", "-q", "-x", "--basetemp", str(root / "pytest-tmp"), "tests"]


# -- make ---------------------------------------------------------------------

def build_make(root: Path, quick: bool) -> list[str]:
    """`make -j2` of generated C files (forced: every object is rebuilt each time)."""
    count = 4 if quick else 100
    nfuncs = 4
    src = root / "src"
    src.mkdir(parents=True)
    rng = random.Random(6)  # noqa: S311 (generated inputs, not secrets)
    (src / "common.h").write_text(textwrap.dedent("""\
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <math.h>
        struct item { int id; double weight; char name[32]; };
        """) + "".join(f"int unit{i}_main(int n);\n" for i in range(count)))
    for i in range(count):
        funcs = []
        for f in range(nfuncs):
            a, b = rng.randint(2, 97), rng.randint(2, 97)
            funcs.append(textwrap.dedent(f"""\
                static double u{i}_f{f}(struct item *items, int n)
                {{
                    double acc = 0;
                    for (int k = 0; k < n; k++) {{
                        items[k].weight = sin(k * {a}.0) + cos(k / {b}.0);
                        snprintf(items[k].name, sizeof items[k].name, "u{i}-{f}-%d", k);
                        acc += items[k].weight * strlen(items[k].name);
                    }}
                    return acc;
                }}
                """))
        calls = " + ".join(f"u{i}_f{f}(items, n)" for f in range(nfuncs))
        (src / f"unit{i}.c").write_text('#include "common.h"\n\n' + "\n".join(funcs) + textwrap.dedent(f"""
            int unit{i}_main(int n)
            {{
                struct item *items = calloc(n, sizeof *items);
                double r = {calls};
                free(items);
                return (int)r;
            }}
            """))
    calls = "\n".join(f"    total += unit{i}_main(8);" for i in range(count))
    (src / "main.c").write_text(f'#include "common.h"\n\nint main(void)\n{{\n    long total = 0;\n{calls}\n'
                                '    printf("%ld\\n", total);\n    return 0;\n}\n')
    objs = " ".join(f"build/unit{i}.o" for i in range(count)) + " build/main.o"
    (root / "Makefile").write_text(textwrap.dedent(f"""\
        CC = gcc
        CFLAGS = -O2 -Wall
        OBJS = {objs}

        app: $(OBJS)
        \t$(CC) -o $@ $(OBJS) -lm

        build/%.o: src/%.c src/common.h | build
        \t$(CC) $(CFLAGS) -c -o $@ $<

        build:
        \tmkdir -p build
        """))
    return ["make", "-B", "-s", "-j2", "app"]


# -- spawn --------------------------------------------------------------------

def build_spawn(root: Path, quick: bool) -> list[str]:
    """A shell loop spawning short processes, as agents' tool calls do."""
    loops = 3 if quick else 150
    (root / "data").mkdir(parents=True)
    for i in range(20):
        (root / "data" / f"file{i}.txt").write_text(f"line {i}\n" * 20)
    # Four external commands per iteration: 600 processes by default.
    script = (f"i=0; while [ $i -lt {loops} ]; do "
              "/bin/true; cat data/file1.txt > /dev/null; ls data > /dev/null; "
              "wc -l data/file2.txt > /dev/null; "
              "i=$((i+1)); done")
    return ["sh", "-c", script]


# -- git ----------------------------------------------------------------------

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=True,
                   stdout=subprocess.DEVNULL)


def build_git(root: Path, quick: bool) -> list[str]:
    """status / log / diff / grep on a generated repository with thousands of files."""
    dirs, per_dir = (3, 10) if quick else (150, 30)
    rng = random.Random(42)  # noqa: S311 (generated inputs, not secrets)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")

    def write_all(generation: int) -> None:
        for d in range(dirs):
            for f in range(per_dir):
                if generation and rng.random() > 0.1:
                    continue  # later commits touch about a tenth of the files
                path = root / f"pkg{d:03d}" / f"mod{f:03d}.py"
                path.parent.mkdir(exist_ok=True)
                lines = [f"# generation {generation}\n"] + [
                    f"def f{k}(x):\n    return x * {rng.randint(1, 999)}  # {'TODO' if k % 7 == 0 else 'ok'}"
                    "\n" for k in range(12)]
                path.write_text("".join(lines))

    for generation in range(4):
        write_all(generation)
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"generation {generation}")
    _git(root, "gc", "-q")  # a cloned repository is packed
    for d in range(0, dirs, max(1, dirs // 30)):  # uncommitted edits in the work tree
        with open(root / f"pkg{d:03d}" / "mod000.py", "a") as f:
            f.write("# edited\n")
    # What an agent runs around each edit, three times over.
    once = ("git status --porcelain > /dev/null; git log --stat -n 3 > /dev/null; "
            "git diff --stat HEAD~3 > /dev/null; git diff > /dev/null; git grep -n TODO > /dev/null; ")
    return ["sh", "-c", once * (1 if quick else 3)]


WORKLOADS: tuple[Workload, ...] = (
    Workload("grep", "5 recursive greps over 4 copies of the stdlib sources (~7,200 files, 135 MB)",
             build_grep),
    Workload("compileall", "python -m compileall -f of 18 stdlib packages (~530 files)", build_compileall),
    Workload("pytest", "a generated pytest suite: 40 modules, 1,920 tests", build_pytest),
    Workload("make", "make -j2 -B: 101 generated C files compiled and linked", build_make),
    Workload("spawn", "a shell loop spawning 600 short processes", build_spawn),
    Workload("git", "git status, log, diff, grep (x3) on a 4,500-file repository", build_git),
)

BY_NAME = {w.name: w for w in WORKLOADS}
GIT_RUN_ENV = GIT_ENV
