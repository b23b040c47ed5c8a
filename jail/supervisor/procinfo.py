"""Facts about sandboxed processes, read from jail's own /proc.

A notification names a thread id in jail's pid namespace; the agent may live
in a pid namespace of its own, where the same task has other numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskIds:
    tgid: int          # in jail's namespace
    ns_tgid: int       # as the agent sees itself (getpid())
    ns_tid: int        # as the agent sees the thread (gettid())
    umask: int
    fsuid: int
    fsgid: int


def task_ids(tid: int) -> TaskIds:
    fields: dict[str, str] = {}
    with open(f"/proc/{tid}/status", "rb") as f:
        for raw in f:
            key, _, value = raw.decode("utf-8", "replace").partition(":")
            fields[key] = value.strip()
    tgid = int(fields["Tgid"])
    ns_tgid = int(fields.get("NStgid", str(tgid)).split()[-1])
    ns_tid = int(fields.get("NSpid", str(tid)).split()[-1])
    umask = int(fields.get("Umask", "0022"), 8)
    fsuid = int(fields["Uid"].split()[3])
    fsgid = int(fields["Gid"].split()[3])
    return TaskIds(tgid, ns_tgid, ns_tid, umask, fsuid, fsgid)


def stat_fields(pid: int) -> tuple[str, int]:
    """(comm, ppid) from /proc/PID/stat; comm may hold spaces and parentheses."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read().decode("utf-8", "replace")
    comm = data[data.index("(") + 1:data.rindex(")")]
    ppid = int(data[data.rindex(")") + 2:].split()[1])
    return comm, ppid


def exe_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def chain(pid: int, stop: int, limit: int = 8) -> list[dict]:
    """The process and its ancestors up to (not including) `stop`, for attribution."""
    out = []
    while pid > 1 and pid != stop and len(out) < limit:
        try:
            comm, ppid = stat_fields(pid)
        except (OSError, ValueError):
            break
        out.append({"pid": pid, "comm": comm})
        pid = ppid
    return out


def descends_from(pid: int, ancestor: int, limit: int = 512) -> bool:
    """True if `ancestor` is on pid's parent chain (orphans reparent to the shim)."""
    for _ in range(limit):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            _, pid = stat_fields(pid)
        except (OSError, ValueError):
            return False
    return False
