"""stat of an fd: a redacted copy answers with the identity of the file it stands for.

Tools that copy or archive files (GNU cp, install, tar) stat the name, open
it, and refuse to go on if the fd's device and inode differ: "replaced while
being copied". A redacted copy is a memfd, so its own identity would give it
away and break them. For an fd that is one of jail's copies the answer is the
original's stat with the copy's size and blocks (what read() will return);
for any other fd the kernel runs the call itself. Letting it continue is safe:
a stat opens nothing and changes nothing, and the fd the kernel then looks at
is the agent's own.
"""

from __future__ import annotations

import os
import stat
import struct

from jail import native
from jail.supervisor.context import Context, Request
from jail.syscalls import AT_EMPTY_PATH, Arg

STATX_BASIC_STATS = 0x7FF
_STAT = struct.Struct("QQQIIIIQqqq" + "qq" * 3 + "24x")  # x86-64 struct stat, 144 bytes
_STATX_HEAD = struct.Struct("IIQIIIHHQQQQ")
_STATX_TIME = struct.Struct("qIi")
_STATX_DEVS = struct.Struct("IIII")
STATX_SIZE = 256


def handle_fdstat(ctx: Context, req: Request) -> None:
    copy = _redacted_copy(ctx, req)
    if copy is None:
        ctx.listener.let_kernel_continue(req.id)
        return
    original, size, blocks = copy
    if req.syscall.name == "statx":
        data = statx_bytes(original, size, blocks)
    else:
        data = stat_bytes(original, size, blocks)
    native.write_bytes(req.tid, req.arg(Arg.STATBUF), data)
    ctx.listener.respond(req.id, 0)


def _redacted_copy(ctx: Context, req: Request) -> tuple[os.stat_result, int, int] | None:  # noqa: PLR0911
    if ctx.redactor is None or not ctx.redactor.has_copies():
        return None
    if req.syscall.name != "fstat":
        if not req.arg(Arg.FLAGS) & AT_EMPTY_PATH or req.arg(Arg.PATH) == 0:
            return None
        if native.read_bytes(req.tid, req.arg(Arg.PATH), 1) != b"\0":
            return None  # a name relative to the fd: not the fd itself
    try:
        fd = native.fd_of_thread(req.tid, req.int_arg(Arg.FD if req.syscall.name == "fstat" else Arg.DIRFD))
    except OSError:
        return None  # a bad fd: the kernel gives the agent its own EBADF
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        return None
    original = ctx.redactor.original_of(st.st_dev, st.st_ino)
    if original is None:
        return None
    return original, st.st_size, st.st_blocks


def _seconds(ns: int) -> tuple[int, int]:
    return ns // 1_000_000_000, ns % 1_000_000_000


def stat_bytes(original: os.stat_result, size: int, blocks: int) -> bytes:
    o = original
    times = [part for ns in (o.st_atime_ns, o.st_mtime_ns, o.st_ctime_ns) for part in _seconds(ns)]
    return _STAT.pack(o.st_dev, o.st_ino, o.st_nlink, o.st_mode, o.st_uid, o.st_gid, 0, o.st_rdev,
                      size, o.st_blksize, blocks, *times)


def statx_bytes(original: os.stat_result, size: int, blocks: int) -> bytes:
    o = original
    head = _STATX_HEAD.pack(STATX_BASIC_STATS, o.st_blksize, 0, o.st_nlink, o.st_uid, o.st_gid,
                            o.st_mode, 0, o.st_ino, size, blocks, 0)
    # atime, btime (not reported: not in the mask), ctime, mtime
    times = b"".join(_STATX_TIME.pack(*_seconds(ns), 0) for ns in
                     (o.st_atime_ns, 0, o.st_ctime_ns, o.st_mtime_ns))
    devs = _STATX_DEVS.pack(os.major(o.st_rdev), os.minor(o.st_rdev), os.major(o.st_dev), os.minor(o.st_dev))
    data = head + times + devs
    return data + bytes(STATX_SIZE - len(data))


__all__ = ["handle_fdstat", "stat_bytes", "statx_bytes"]
