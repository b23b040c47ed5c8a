"""`jail check [PROFILE]`: validate a profile and run the examples its rules carry."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from jail.errors import ExitCode, ProfileError
from jail.policy import Policy, PolicyContext
from jail.profile import GlobError, display_path, load_profile, run_examples, trust_status


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="validate a profile and run its rules' examples",
        description="Load a profile with everything it extends, report every problem as "
        "file:line, and check each rule's match / no_match examples. Exit status 2 on any "
        "problem.")
    parser.add_argument("profile", nargs="?", metavar="PROFILE",
                        help="a built-in name or a path (default: the project's jail.toml)")
    parser.set_defaults(func=run)


def problems(error: ProfileError) -> list[ProfileError]:
    return list(getattr(error, "errors", [error]))


def print_problem(error: ProfileError) -> None:
    print(str(error))
    if error.hint:
        print(f"    hint: {error.hint}")


def run(args: argparse.Namespace) -> int:
    home, cwd = Path.home(), Path.cwd()
    try:
        loaded = load_profile(cwd=cwd, home=home, env=os.environ, profile=args.profile)
    except ProfileError as error:
        for problem in problems(error):
            print_problem(problem)
        return ExitCode.INVALID
    profile = loaded.profile
    try:  # compile every pattern with the real home and workspace too
        Policy.from_profile(profile, PolicyContext.for_person(home=home, env=os.environ))
    except GlobError as error:
        print(str(error))
        return ExitCode.INVALID
    count, failures = run_examples(profile, home=home)
    for failure in failures:
        print(f"{failure.rule.where}: {failure}")
    if failures:
        return ExitCode.INVALID
    shown = ", ".join(display_path(path, home) for path in profile.sources)
    trust = ""
    if loaded.project_files:
        state = trust_status(loaded.project_contents).state
        trust = "; trusted" if state == "trusted" else f"; {state}, not trusted yet (jail trust)"
    print(f"ok: {len(profile.rules())} rules, {count} examples pass ({shown}; workspace "
          f"{display_path(profile.workspace, home)}{trust})")
    return ExitCode.OK
