"""`jail trust [PATH]`: read a project profile (or what changed in it) and trust it.

A project's jail.toml is written by whoever controls the repository. jail uses
it only once the person has read it and said yes here, on the terminal; the
answer is pinned to the file's content, so any later change asks again.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jail.errors import ExitCode, UntrustedProfileError
from jail.profile import display_path, ensure_trusted, load_profile, trust_status
from jail.profile.discover import PROJECT_FILE

NO_TERMINAL_HINT = "read the profile, then run `jail trust --yes` (or `jail run --trust-project`)"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trust", help="read and trust the project's profile",
        description="Show the project profile (or the diff since you last trusted it) and "
        "record your trust after you answer yes on the terminal.")
    parser.add_argument("path", nargs="?", metavar="PATH",
                        help="the profile file or its directory (default: jail.toml found "
                        "from the current directory upwards)")
    parser.add_argument("--yes", action="store_true", help="trust without asking")
    parser.set_defaults(func=run)


def has_terminal() -> bool:
    """A person at a terminal: stdin is a tty and /dev/tty can be opened."""
    try:
        with open("/dev/tty", "rb"):
            return sys.stdin.isatty()
    except OSError:
        return False


def ask_on_terminal(text: str) -> bool:
    """Show `text` and read y/N from the controlling terminal, not from stdin."""
    # A tty is not seekable, so Python's text mode cannot open it "r+": use
    # unbuffered bytes, one descriptor for both directions.
    with open("/dev/tty", "r+b", buffering=0) as tty:
        tty.write((text.rstrip("\n") + "\n\nTrust it? [y/N] ").encode("utf-8", "replace"))
        answer = tty.readline().decode("utf-8", "replace")
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    home, cwd = Path.home(), Path.cwd()
    reference = args.path
    if reference is not None:
        target = Path(reference)
        if target.is_dir():
            target = target / PROJECT_FILE
        # A path, never a built-in name: `jail trust strict` means ./strict.
        reference = str(target) if "/" in str(target) else f"./{target}"
    loaded = load_profile(cwd=cwd, home=home, env=os.environ, profile=reference)
    if not loaded.project_files:
        print("nothing to trust: no project profile here (built-in profiles and your own "
              "~/.config/jail/jail.toml are always trusted)")
        return ExitCode.OK
    main = display_path(loaded.project_files[0], home)
    contents = loaded.project_contents
    if trust_status(contents).trusted:
        print(f"already trusted: {main}")
        return ExitCode.OK
    interactive = has_terminal()
    if not interactive and not args.yes:
        raise UntrustedProfileError(f"not trusting {main}: no terminal to ask on",
                                    NO_TERMINAL_HINT)
    ensure_trusted(contents, interactive=interactive, assume_yes=args.yes, ask=ask_on_terminal)
    print(f"trusted: {main}")
    return ExitCode.OK
