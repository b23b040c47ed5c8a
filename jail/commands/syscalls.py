"""jail syscalls: the table the filter is built from, printed for people."""

from __future__ import annotations

import argparse
import errno as errno_names
import json

from jail.syscalls import TABLE, Family

ACTIONS = {
    Family.OPEN: "emulated: opened by jail, fd injected",
    Family.PATH: "emulated: checked and performed by jail",
    Family.FD: "emulated: checked and performed by jail",
    Family.EXEC: "run by the kernel, verified at the ptrace exec event",
    Family.CONNECT: "emulated: jail connects its duplicate of the socket",
    Family.FDSTAT: "trapped with AT_EMPTY_PATH or by fd: a redacted copy reports its file's identity",
    Family.SEND: "trapped when it names a destination: decided, sent by jail on its duplicate",
}


def add_parser(sub) -> None:
    p = sub.add_parser("syscalls", help="list the syscalls jail traps or refuses",
                       description="Every syscall the filter traps or refuses, and why. Foreign "
                       "architectures (i386 int 0x80) and x32 numbers kill the process; everything "
                       "not listed runs at full speed.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _action(row) -> str:
    if row.family is not Family.DENY:
        return ACTIONS[row.family]
    name = errno_names.errorcode.get(row.errno, str(row.errno))
    return f"refused with {name}" + (" when its arguments match" if row.when else "")


def run(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps([{"name": r.name, "nr": r.nr, "family": r.family.value, "action": _action(r),
                           "args": [a.value for a in r.args], "why": r.why} for r in TABLE], indent=2))
        return 0
    for row in TABLE:
        why = f"  ({row.why})" if row.why else ""
        print(f"{row.name:<20} {_action(row)}{why}")
    return 0
