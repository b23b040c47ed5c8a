"""`jail doctor`: report the kernel features jail needs and the fallbacks it will use."""

from __future__ import annotations

import argparse

from jail import doctor
from jail.errors import ExitCode


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check that this machine has what jail needs",
        description="Probe the kernel features jail relies on, one line each, and say which "
        "fallback jail will use where an optional one is missing. Exits 0 when every "
        "required feature is present, 125 otherwise.")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks = doctor.probe_all()
    print(doctor.format_json(checks) if args.json else doctor.format_checks(checks))
    return ExitCode.OK if doctor.ready(checks) else ExitCode.JAIL_FAILED
