"""Command line: one parser per subcommand module, one funnel for errors."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from jail import __version__
from jail.errors import ExitCode, JailError

# Each module in jail.commands exposes add_parser(subparsers) and run(args) -> int.
COMMANDS = ("run", "check", "explain", "profile", "trust", "log", "doctor", "syscalls", "approve", "scan",
            "profiles", "init", "demo")


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named on the command line, if any (before its own options)."""
    for word in argv:
        if word in COMMANDS:
            return word
        if not word.startswith("-"):
            return None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """All subcommands, or just `only`: importing every command module costs
    ~90 ms that `jail run` should not pay before the agent starts."""
    parser = argparse.ArgumentParser(
        prog="jail",
        description="Run an AI coding agent (or any command) under a seccomp supervisor "
        "that enforces a per-project profile.",
    )
    parser.add_argument("--version", action="version", version=f"jail {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback when jail itself fails")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        module = importlib.import_module(f"jail.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    code = _main(sys.argv[1:] if argv is None else argv)
    if argv is None and _chosen_command(sys.argv[1:]) == "run":
        # The sandbox is reaped and the audit log closed: all that is left for
        # the interpreter's teardown is freeing every module, the policy and
        # the secret catalogue, ~45 ms of each `jail run` (strace, exit_group).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: list[str]) -> int:
    parser = build_parser(_chosen_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.INVALID
    try:
        return int(args.func(args))
    except JailError as error:
        print(f"jail: {error}", file=sys.stderr)
        if error.hint:
            print(f"jail: hint: {error.hint}", file=sys.stderr)
        if args.traceback:
            raise
        return int(error.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `jail log | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
