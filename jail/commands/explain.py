"""`jail explain ACCESS PATH` and `jail explain exec -- ARGV...`: what the profile
decides for one path or one command, and which rule (file:line) decides."""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

from jail.errors import ExitCode, UsageError
from jail.exec_policy import ExecDecision, ExecEvent
from jail.execrules.invocations import display
from jail.policy import Access, FileEvent, Policy, PolicyContext
from jail.profile import display_path, load_profile, trust_status

ACCESSES = [access.value for access in Access]
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain", help="show the verdict and the rule for one path or one command",
        description="Show what the effective profile decides when the agent asks to read, "
        "write, create, delete or hard-link PATH, or runs a command (`jail explain exec -- "
        "terraform destroy`), and the rule (file:line) that decides.")
    parser.add_argument("access", choices=[*ACCESSES, "exec", "connect"], help="what the agent would do")
    parser.add_argument("target", nargs="+", metavar="PATH | -- COMMAND",
                        help="the path (relative to the current directory, or ~/...); for exec, "
                        "the command after `--` (leading NAME=value words set its environment)")
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
    if args.access != "exec" and len(args.target) != 1:
        raise UsageError(f"explain {args.access} takes one path, not {len(args.target)}",
                         hint="for a command: jail explain exec -- COMMAND ARGS...")
    loaded = load_profile(cwd=cwd, home=home, env=os.environ, profile=args.profile)
    ctx = PolicyContext.for_person(home=home, env=os.environ, protected_files=loaded.all_files)
    policy = Policy.from_profile(loaded.profile, ctx)
    if args.access == "exec":
        explain_exec(policy, args.target, cwd=cwd, home=home)
    elif args.access == "connect":
        explain_connect(policy, args.target[0])
    else:
        explain_file(policy, args.access, args.target[0], cwd=cwd, home=home)
    print(f"  workspace {display_path(loaded.profile.workspace, home)}")
    if loaded.project_files and not trust_status(loaded.project_contents).trusted:
        print("  note: the project profile is not trusted yet; `jail run` will ask first "
              "(or run `jail trust`)")
    return ExitCode.OK


def explain_file(policy: Policy, access: str, path: str, *, cwd: Path, home: Path) -> None:
    target = resolve(path, cwd=cwd, home=home)
    verdict = policy.decide_file(FileEvent(Access(access), target))
    rule = verdict.rule
    print(f"{verdict.action.value}: {access} {display_path(target, home)}")
    if os.path.abspath(cwd / os.path.expanduser(path)) != target:
        print(f"  (resolved from {path})")
    print(f"  rule     {rule.where} ({rule.kind})")
    print(f"  pattern  {rule.pattern}")
    if verdict.reason:
        print(f"  reason   {verdict.reason}")


def exec_event(words: list[str], *, cwd: Path, workspace: Path) -> ExecEvent:
    """The exec the kernel would see: the program found on PATH, symlinks followed."""
    words = list(words)
    env = {}
    while len(words) > 1 and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words or not words[0]:
        raise UsageError("no command to explain", hint="jail explain exec -- terraform destroy")
    program = words[0]
    found = str(cwd / program) if "/" in program else shutil.which(program)
    exe = os.path.realpath(found) if found and os.path.exists(found) else program
    return ExecEvent(exe=exe, argv=tuple(words), cwd=str(cwd), workspace=str(workspace), env=env)


def explain_exec(policy: Policy, words: list[str], *, cwd: Path, home: Path) -> None:
    event = exec_event(words, cwd=cwd, workspace=policy.profile.workspace)
    decision: ExecDecision = policy.explain_exec(event)
    verdict, rule = decision.verdict, decision.verdict.rule
    print(f"{verdict.action.value}: {display(event.argv)}")
    print(f"  rule     {display_path(rule.where, home)} ({rule.kind})")
    print(f"  pattern  {rule.pattern}")
    if verdict.reason:
        print(f"  reason   {verdict.reason}")
    if decision.invocation is not None and decision.invocation.via:
        print(f"  matched  {display(decision.invocation.argv)}  ({decision.invocation.how})")
    shown = display_path(event.exe, home) if event.exe.startswith("/") else f"{event.exe} (not found)"
    print(f"  program  {shown}")
    for hit in decision.matches:
        if hit.rule == rule:
            continue
        what = hit.rule.kind.removeprefix("exec.")
        print(f"  also     {what} {display_path(hit.rule.where, home)}  {hit.rule.pattern}")


def explain_connect(policy: Policy, target: str) -> None:
    """`jail explain connect HOST:PORT | IP:PORT | /path/to/socket`."""
    from jail.network.rules import DestinationError, parse_example

    try:
        dest = parse_example(target)
    except DestinationError as error:
        raise UsageError(str(error), hint="e.g. jail explain connect github.com:443") from None
    decision = policy.network.explain(dest)
    rule = decision.verdict.rule
    print(f"{decision.verdict.action.value}: connect {dest}")
    print(f"  rule     {rule.where} ({rule.kind})")
    print(f"  pattern  {rule.pattern}")
    if decision.verdict.reason:
        print(f"  reason   {decision.verdict.reason}")
    for hit in decision.matches:
        if hit is not rule:
            print(f"  also     {hit.kind.removeprefix('network.')} {hit.pattern} ({hit.where})")
    if dest.host and not dest.unix:
        print("  note: a host name is decided by jail's proxy; direct connections meet IP rules")
