"""`jail explain ACCESS PATH`: what the profile decides for one path, and which rule decides."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from jail.errors import ExitCode
from jail.policy import Access, FileEvent, Policy, PolicyContext
from jail.profile import display_path, load_profile, trust_status

ACCESSES = [access.value for access in Access]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain", help="show the verdict and the rule for one path",
        description="Show what the effective profile decides when the agent asks to read, "
        "write, create, delete or hard-link PATH, and the rule (file:line) that decides.")
    parser.add_argument("access", choices=ACCESSES, help="what the agent would do")
    parser.add_argument("path", help="the path (relative to the current directory, or ~/...)")
    parser.add_argument("--profile", metavar="NAME|PATH",
                        help="a built-in name or a file instead of the project's jail.toml")
    parser.set_defaults(func=run)


def resolve(path: str, *, cwd: Path, home: Path) -> str:
    """Absolute and with symlinks followed, as the supervisor sees the opened object."""
    if path == "~" or path.startswith("~/"):
        path = str(home) + path[1:]
    return os.path.realpath(cwd / path)


def run(args: argparse.Namespace) -> int:
    home, cwd = Path.home(), Path.cwd()
    loaded = load_profile(cwd=cwd, home=home, env=os.environ, profile=args.profile)
    ctx = PolicyContext.for_person(home=home, env=os.environ, protected_files=loaded.all_files)
    policy = Policy.from_profile(loaded.profile, ctx)
    target = resolve(args.path, cwd=cwd, home=home)
    verdict = policy.decide_file(FileEvent(Access(args.access), target))
    rule = verdict.rule
    print(f"{verdict.action.value}: {args.access} {display_path(target, home)}")
    if os.path.abspath(cwd / os.path.expanduser(args.path)) != target:
        print(f"  (resolved from {args.path})")
    print(f"  rule     {rule.where} ({rule.kind})")
    print(f"  pattern  {rule.pattern}")
    if verdict.reason:
        print(f"  reason   {verdict.reason}")
    print(f"  workspace {display_path(loaded.profile.workspace, home)}")
    if loaded.project_files and not trust_status(loaded.project_contents).trusted:
        print("  note: the project profile is not trusted yet; `jail run` will ask first "
              "(or run `jail trust`)")
    return ExitCode.OK
