"""`jail log`: read, follow and verify the audit log of a session."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jail.audit import SessionInfo, follow_lines, list_sessions, read_lines, verify
from jail.audit.reader import parse_time
from jail.errors import ExitCode, UsageError
from jail.state import sessions_dir

WIDTH = 100  # the table fits this many columns; a wider terminal widens TARGET
# (title, width) of every fixed column; TARGET takes what is left.
COLUMNS = (("TIME", 12), ("PID", 7), ("PROCESS", 12), ("SYSCALL", 9), ("VERDICT", 7))
RULE_WIDTH = 18
MIN_TARGET = 20
SESSION_EVENTS = ("session-start", "session-end")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "log", help="show the audit log of a session",
        description="Show what jail decided during a session: every denial, and every "
        "allowed open once per process and path, with the rule that decided.")
    parser.add_argument("session", nargs="?", metavar="SESSION",
                        help="a session id or a unique prefix of one (default: the newest)")
    parser.add_argument("--denied", action="store_true", help="only records with verdict deny")
    parser.add_argument("--pid", type=int, metavar="PID", help="only records about this pid")
    parser.add_argument("--json", action="store_true", help="print the raw JSON lines")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-f", "--follow", action="store_true",
                      help="keep printing new records until the session ends (Ctrl-C stops)")
    mode.add_argument("--verify", action="store_true",
                      help="check the hash chain; exit 1 naming the first bad record")
    mode.add_argument("--list", action="store_true", help="list the recorded sessions")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    directory = sessions_dir(os.environ, Path.home())
    sessions = list_sessions(directory)
    if not sessions:
        raise UsageError(f"no sessions recorded in {directory}",
                         hint="`jail run -- COMMAND` records one")
    try:
        if args.list:
            write_lines(format_session_list(sessions, as_json=args.json))
            return ExitCode.OK
        session = find_session(sessions, args.session)
        if args.verify:
            return verify_session(session)
        lines = follow_lines(session.path) if args.follow else read_lines(session.path)
        try:
            write_lines(render(session, lines, denied=args.denied, pid=args.pid,
                               as_json=args.json, width=table_width()), flush=args.follow)
        except KeyboardInterrupt:
            if not args.follow:
                raise
        return ExitCode.OK
    except BrokenPipeError:
        # `jail log | head`: the reader left; point stdout at /dev/null so the
        # interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK


def find_session(sessions: list[SessionInfo], wanted: str | None) -> SessionInfo:
    """The session named by id or unique id prefix; the newest when none is named."""
    if not wanted:
        return sessions[-1]
    for session in sessions:
        if session.id == wanted:
            return session
    matches = [session for session in sessions if session.id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no session matches {wanted!r}", hint="`jail log --list` lists them")
    shown = ", ".join(session.id for session in matches[:5])
    more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
    raise UsageError(f"{wanted!r} matches {len(matches)} sessions: {shown}{more}",
                     hint="give more of the session id")


def verify_session(session: SessionInfo) -> int:
    result = verify(session.path)
    print(f"session {session.id}: {result.message}")
    return ExitCode.OK if result.ok else ExitCode.FINDINGS


def write_lines(lines: Iterable[str], *, flush: bool = False) -> None:
    for line in lines:
        print(line, flush=flush)


def table_width() -> int:
    if sys.stdout.isatty():
        return max(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns)
    return WIDTH


def matches(record: dict[str, Any], *, denied: bool, pid: int | None) -> bool:
    if denied and record.get("verdict") != "deny":
        return False
    return pid is None or record.get("pid") == pid


def render(session: SessionInfo, lines: Iterable[tuple[str, dict[str, Any]]], *,
           denied: bool = False, pid: int | None = None, as_json: bool = False,
           width: int = WIDTH) -> Iterator[str]:
    """The text `jail log` prints for these lines of a session, one line at a time."""
    filtered = denied or pid is not None
    for raw, record in lines:
        event = record.get("event")
        if as_json:
            if matches(record, denied=denied, pid=pid) and (
                    not filtered or event not in SESSION_EVENTS):
                yield raw
        elif event == "session-start":
            yield format_header(session.id, record, width)
            yield format_row_cells([title for title, _ in COLUMNS] + ["TARGET", "RULE"], width)
        elif event == "session-end":
            yield f"{clock(record.get('time'))}  session ended, exit status " \
                  f"{record.get('exit_status', '?')}"
        elif matches(record, denied=denied, pid=pid):
            yield format_row(record, width)


def clock(value: Any) -> str:
    """HH:MM:SS.mmm in local time, from a record's UTC ISO timestamp."""
    moment = parse_time(value)
    if moment is None:
        return "?"
    moment = moment.astimezone()
    return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


def fit(text: str, width: int, *, keep_end: bool = False) -> str:
    """Cut `text` to `width` columns, marking the cut; paths keep their end."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    return "…" + text[-(width - 1):] if keep_end else text[:width - 1] + "…"


def process_name(record: dict[str, Any]) -> str:
    pid = record.get("pid")
    chain = record.get("chain")
    if isinstance(chain, list):
        for link in chain:
            if isinstance(link, dict) and link.get("pid") == pid and link.get("comm"):
                return str(link["comm"])
    exe = record.get("exe")
    return os.path.basename(str(exe)) if exe else "-"


def target_text(record: dict[str, Any]) -> tuple[str, bool]:
    """What the record is about, and whether a cut should keep its end (paths do,
    command lines keep their start)."""
    if record.get("target") is not None:
        return str(record["target"]), True
    argv = record.get("argv")
    if isinstance(argv, list):
        return shlex.join(str(arg) for arg in argv), False
    for key in ("address", "reason"):
        if record.get(key) is not None:
            return str(record[key]), False
    return "-", False


def format_row_cells(cells: list[str], width: int, *, keep_target_end: bool = True) -> str:
    fixed = sum(size for _, size in COLUMNS) + RULE_WIDTH + len(COLUMNS) + 1
    target_width = max(MIN_TARGET, width - fixed)
    parts = [fit(cell, size).ljust(size) for cell, (_, size)
             in zip(cells[:len(COLUMNS)], COLUMNS, strict=True)]
    parts.append(fit(cells[-2], target_width, keep_end=keep_target_end).ljust(target_width))
    parts.append(fit(cells[-1], RULE_WIDTH, keep_end=True))
    return " ".join(parts).rstrip()


def format_row(record: dict[str, Any], width: int = WIDTH) -> str:
    pid = record.get("pid")
    target, keep_end = target_text(record)
    cells = [
        clock(record.get("time")),
        "-" if pid is None else str(pid),
        process_name(record),
        str(record.get("syscall") or record.get("event") or "-"),
        str(record.get("verdict") or "-"),
        target,
        str(record.get("rule") or "-"),
    ]
    return format_row_cells(cells, width, keep_target_end=keep_end)


def format_header(session_id: str, header: dict[str, Any], width: int = WIDTH) -> str:
    start = parse_time(header.get("time"))
    started = start.astimezone().strftime("%Y-%m-%d %H:%M:%S %z") if start else "?"
    agent = header.get("agent")
    command = shlex.join(str(arg) for arg in agent) if isinstance(agent, list) else "?"
    text = f"session {session_id}  started {started}  agent: "
    return text + fit(command, max(MIN_TARGET, width - len(text)))


def format_session_list(sessions: list[SessionInfo], *, as_json: bool = False) -> Iterator[str]:
    if not as_json:
        yield f"{'SESSION':<23}  {'STARTED':<19}  {'RECORDS':>7}  {'EXIT':>4}  AGENT"
    for session in sessions:
        if as_json:
            yield json.dumps({
                "id": session.id, "path": str(session.path),
                "start": session.header.get("time"), "agent": session.agent,
                "records": session.record_count, "exit_status": session.exit_status})
            continue
        started = session.start.astimezone().strftime("%Y-%m-%d %H:%M:%S") \
            if session.start else "?"
        status = "-" if session.exit_status is None else str(session.exit_status)
        line = f"{session.id:<23}  {started:<19}  {session.record_count:>7}  {status:>4}  "
        yield line + fit(shlex.join(session.agent) or "?", max(MIN_TARGET, WIDTH - len(line)))
