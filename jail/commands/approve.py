"""`jail approve`: answer the waiting requests of running sessions from another terminal.

A session with no terminal of its own (CI, a detached agent) cannot show the
prompt; each session serves its pending requests on a socket only this user
can reach, and this command lists and answers them. Without an answer the
session's timeout applies its fallback, deny unless the profile says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jail.approve.client import ApprovalClient, Pending, list_all
from jail.approve.request import Answer, Decision, shell_word, visible
from jail.approve.server import socket_dir
from jail.errors import ExitCode, UsageError

ANSWERS = {"once": Answer.ALLOW_ONCE, "session": Answer.ALLOW_SESSION, "for": Answer.ALLOW_FOR,
           "deny": Answer.DENY}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "approve", help="answer waiting approval requests of running sessions",
        description="List the requests that running jail sessions are holding for a person's "
        "answer, and answer them: a full-screen prompt by default, or --list / --answer "
        "without one.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="print the waiting requests and exit")
    mode.add_argument("--answer", nargs=2, metavar=("ID", "ANSWER"),
                      help="answer one request: ANSWER is once, session, for (with --minutes) or "
                      "deny; ID is the request id, or SESSION:ID when ids repeat across sessions")
    parser.add_argument("--minutes", type=int, metavar="N", help="how long `--answer ID for` allows")
    parser.add_argument("--json", action="store_true", help="with --list: one JSON object per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    directory = socket_dir()
    if args.json and not args.list:
        raise UsageError("--json goes with --list")
    if args.list:
        pending, problems = list_all(directory)
        for line in (format_json(pending) if args.json else format_table(pending, problems)):
            print(line)
        return ExitCode.OK
    if args.answer:
        return answer_one(directory, *args.answer, minutes=args.minutes)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("jail approve needs a terminal", hint="`jail approve --list`, then "
                         "`jail approve --answer ID deny` (or once, session, for --minutes N)")
    from jail.approve.app import ApproveApp
    ApproveApp(directory).run()
    return ExitCode.OK


def format_json(pending: list[Pending]) -> list[str]:
    return [json.dumps({"socket": str(p.socket), "session": p.request.session, "id": p.request.id,
                        "expires_in": round(p.expires_in, 1), "fallback": p.fallback.value,
                        "request": p.request.to_json()}) for p in pending]


def format_table(pending: list[Pending], problems: list[str]) -> list[str]:
    """Readable lines; everything from the sandbox goes through `visible`."""
    lines = [f"jail: {problem}" for problem in problems]
    if not pending:
        return [*lines, "no requests waiting"]
    for p in pending:
        r, left = p.request, int(p.expires_in)
        what = " ".join(shell_word(w) for w in r.argv) if r.kind == "exec" else visible(r.target)
        lines += [f"{visible(r.session)}:{visible(r.id)}  {r.kind}  {left // 60}:{left % 60:02d} left "
                  f"({'deny' if p.fallback is Answer.DENY else 'allow'} then)",
                  f"    {what}",
                  f"    cwd {visible(r.cwd)}  pid {r.pid}",
                  f"    rule {visible(r.rule_pattern)} ({visible(r.rule_where)}): {visible(r.reason)}"]
    return lines


def answer_one(directory: Path, wanted: str, answer_name: str, *, minutes: int | None) -> int:
    answer = ANSWERS.get(answer_name)
    if answer is None:
        hint = "always changes the profile: answer it in `jail approve`, where its diff is shown" \
            if answer_name == "always" else None
        raise UsageError(f"unknown answer {answer_name!r}; one of {', '.join(ANSWERS)}", hint=hint)
    if (answer is Answer.ALLOW_FOR) != (minutes is not None):
        raise UsageError("--minutes N goes with the answer `for`, and only with it")
    try:
        decision = Decision(answer, minutes=minutes, answerer="jail approve")
    except ValueError as error:
        raise UsageError(str(error)) from None
    pending, _ = list_all(directory)
    matches = [p for p in pending if wanted in (p.request.id, f"{p.request.session}:{p.request.id}")]
    if not matches:
        raise UsageError(f"no waiting request {wanted!r}", hint="`jail approve --list` shows them")
    if len(matches) > 1:
        raise UsageError(f"request id {wanted!r} is waiting in several sessions; write SESSION:ID")
    target = matches[0]
    if ApprovalClient(target.socket).answer(target.request.id, decision):
        print(f"{answer_name}: {target.request.session}:{target.request.id}")
        return ExitCode.OK
    print(f"jail: {target.request.session}:{target.request.id} was already answered", file=sys.stderr)
    return ExitCode.FINDINGS
