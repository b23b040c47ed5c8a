"""`jail init [--agent NAME] [--force]`: write a commented jail.toml for this project and trust it.

The project type is read from the files at its root (pyproject.toml means
Python, package.json Node, ...). The project itself is writable already; what a
type adds is the package caches in the home directory that its tools write to
and that "default" does not cover (everything under ~/.cache is covered).
"""

from __future__ import annotations

import argparse
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

from jail.agents import AGENTS, agent_named
from jail.errors import ExitCode, UsageError
from jail.profile.discover import PROJECT_FILE, find_workspace


@dataclass(frozen=True)
class Place:
    path: str
    reason: str


@dataclass(frozen=True)
class ProjectType:
    name: str
    markers: tuple[str, ...]  # any of these files at the project root
    in_project: tuple[str, ...]  # build and cache dirs inside the project (writable with ".")
    home: tuple[Place, ...]  # caches in the home directory outside ~/.cache


PROJECT_TYPES = (
    ProjectType("Python", ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile"),
                (".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", "build",
                 "dist"),
                (Place("~/.cache/pip", "pip's download cache (already writable under ~/.cache in default)"),
                 Place("~/.local/share/virtualenvs", "pipenv's virtual environments"))),
    ProjectType("Node", ("package.json",), ("node_modules", "dist", ".next", ".turbo"),
                (Place("~/.npm", "npm's package cache"),
                 Place("~/.local/share/pnpm", "pnpm's content-addressed store"),
                 Place("~/.yarn", "yarn's cache and berry installs"),
                 Place("~/.bun/install/cache", "bun's package cache"))),
    ProjectType("Go", ("go.mod",), ("bin",),
                (Place("~/go/pkg/mod", "Go's module cache (go build downloads here)"),
                 Place("~/.cache/go-build",
                       "Go's build cache (already writable under ~/.cache in default)"))),
    ProjectType("Rust", ("Cargo.toml",), ("target",),
                (Place("~/.cargo/registry", "cargo's crate downloads and index"),
                 Place("~/.cargo/git", "cargo's git dependencies"))),
    ProjectType("Java (Maven)", ("pom.xml",), ("target",),
                (Place("~/.m2/repository", "Maven's artifact cache"),)),
    ProjectType("Java/Kotlin (Gradle)", ("build.gradle", "build.gradle.kts", "settings.gradle.kts"),
                ("build", ".gradle"),
                (Place("~/.gradle/caches", "Gradle's dependency and build caches"),
                 Place("~/.gradle/wrapper", "the Gradle versions the wrapper downloads"))),
    ProjectType("Ruby", ("Gemfile",), ("vendor/bundle", ".bundle"),
                (Place("~/.gem", "gems installed by the user"),
                 Place("~/.bundle/cache", "Bundler's cache"))),
    ProjectType("PHP", ("composer.json",), ("vendor",), ()),
    ProjectType("Elixir", ("mix.exs",), ("_build", "deps"),
                (Place("~/.mix", "Mix archives"), Place("~/.hex", "Hex packages"))),
)


def detect_project_types(root: Path) -> list[ProjectType]:
    return [kind for kind in PROJECT_TYPES if any((root / marker).is_file() for marker in kind.markers)]


def render(kinds: list[ProjectType], agent: str | None) -> str:
    """The jail.toml text: every rule explained, nothing a person must decode."""
    found = ", ".join(kind.name for kind in kinds) or "no known project type"
    base = agent or "default"
    lines = [
        "# jail profile for this project (written by `jail init`; edit freely, then `jail trust`).",
        f"# Detected: {found}.",
        "#",
        f'# It extends the built-in "{base}" profile: the project and /tmp are writable,',
        "# credential stores (~/.ssh, ~/.aws, ...) are unreadable, secrets in files are",
        "# redacted, and destructive commands wait for a person. `jail profile show`",
        "# prints the merged rules; `jail explain write PATH` says why a path is allowed.",
    ]
    if agent:
        title = agent_named(agent).title  # type: ignore[union-attr]  # checked by the caller
        lines += ["#", f"# The agent in use is {title}: its profile lets it keep its own state and",
                  "# passes its API key to it (see `jail profiles`)."]
    lines += ["", f'extends = ["{base}"]', f'description = "{_description(kinds, agent)}"', "",
              "[workspace]", "writable = ["]
    in_project = list(dict.fromkeys(d for kind in kinds for d in kind.in_project))
    if in_project:
        lines += textwrap.wrap("Build and cache dirs inside the project, writable as part of it: "
                               + ", ".join(in_project), width=88, initial_indent="  # ",
                               subsequent_indent="  # ")
    lines.append('  ".",')
    for kind in kinds:
        for place in kind.home:
            lines.append(f'  {{ path = "{place.path}", reason = "{place.reason}" }},  # {kind.name}')
    lines += [
        "]",
        "",
        "# [files]",
        "# deny = [\"secrets/\"]        # never readable, even by a tool the agent runs",
        "# read_only = [\"migrations/\"] # readable, never changed",
        "",
        "[redact]",
        "# Every file read is scanned for secrets already; these are masked whole.",
        '# always = ["**/.env*"]',
        "",
        "[exec]",
        "# The catalogue of destructive commands (terraform destroy, rm -rf outside the",
        "# project, DROP TABLE, ...) asks first. Let one through for this project:",
        '# allow = ["terraform destroy -target=module.scratch *"]',
        '# ask = ["./deploy.sh *"]',
        "",
    ]
    return "\n".join(lines)


def _description(kinds: list[ProjectType], agent: str | None) -> str:
    what = " + ".join(kind.name for kind in kinds) or "Project"
    return f"{what} project" + (f" worked on with {agent_named(agent).title}" if agent else "")  # type: ignore[union-attr]


def add_parser(sub) -> None:
    p = sub.add_parser("init", help="write a commented jail.toml for this project and trust it",
                       description="Detect the project type (Python, Node, Go, Rust, ...), write a "
                       "commented jail.toml at the project root, and trust it.")
    p.add_argument("--agent", metavar="NAME", help="the agent used here (" +
                   ", ".join(a.profile for a in AGENTS) + "): the profile extends its built-in one")
    p.add_argument("--force", action="store_true", help="replace an existing jail.toml")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jail.profile import load_profile, record_trust

    if args.agent is not None and agent_named(args.agent) is None:
        raise UsageError(f'unknown agent "{args.agent}"',
                         hint="agents: " + ", ".join(a.profile for a in AGENTS))
    home = Path(os.environ.get("HOME") or Path.home())
    root = find_workspace(Path.cwd(), home)
    target = root / PROJECT_FILE
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; not replacing it",
                         hint="read it with `jail profile show`, or run `jail init --force` to replace it")
    text = render(detect_project_types(root), args.agent)
    _write_atomic(target, text)
    # Load it with the real loader before trusting: a file jail cannot load is never trusted.
    loaded = load_profile(cwd=root, home=home, env=os.environ, profile=str(target))
    record_trust(loaded.project_contents)
    print(f"wrote {target}:\n")
    print(text)
    print(f"trusted {target}; `jail run -- COMMAND` here uses it (`jail profile show` for the merged rules)")
    return ExitCode.OK


def _write_atomic(target: Path, text: str) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
