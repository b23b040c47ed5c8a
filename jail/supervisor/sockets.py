"""connect: performed by jail on its duplicate of the agent's socket.

The address is copied out of the agent's memory once and that copy is what
jail connects to, so no thread can swap it afterwards. A unix socket named by
a path is resolved in the agent's view like any file and decided on the
socket file actually found; jail then connects through /proc/self/fd of that
object, never through the string. Other families are connected as asked
(address rules arrive with the network profile section).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
import threading

from jail import native
from jail.policy import Access
from jail.supervisor.context import Context, Request, Vanished
from jail.supervisor.resolve import AT_FDCWD
from jail.syscalls import Arg

AF_UNIX = 1
SOCKADDR_MAX = 128


def handle_connect(ctx: Context, req: Request) -> None:
    size = min(req.arg(Arg.ADDRLEN) & 0xFFFFFFFF, SOCKADDR_MAX)
    if size < 2:
        raise OSError(errno.EINVAL, "address too short")
    address = native.read_bytes(req.tid, req.arg(Arg.ADDR), size)
    sock = native.fd_of_thread(req.tid, req.int_arg(Arg.FD))
    try:
        family = struct.unpack_from("H", address)[0]
        target = None
        if family == AF_UNIX and size > 2 and address[2] != 0:  # a path, not an abstract name
            target = _unix_target(ctx, req, address[2:].split(b"\0", 1)[0])
        elif not ctx.listener.id_valid(req.id):
            raise Vanished
        _connect(ctx, req, sock, family, address, target)
    except BaseException:
        os.close(sock)
        raise


def _unix_target(ctx: Context, req: Request, raw: bytes):
    path = os.fsdecode(raw)
    obj = ctx.resolver.lookup(req.tid, AT_FDCWD, path, follow=True)
    if not stat.S_ISSOCK(obj.st.st_mode):
        obj.close()
        raise OSError(errno.ECONNREFUSED, "not a socket")
    try:
        ctx.check(req, Access.READ, obj.path, obj.st, foreign=obj.foreign)
    except BaseException:
        obj.close()
        raise
    return obj


def _connect(ctx: Context, req: Request, sock: int, family: int, address: bytes, target) -> None:
    blocking = not fcntl.fcntl(sock, fcntl.F_GETFL) & os.O_NONBLOCK
    if blocking:
        # A blocking connect may take a while: do not hold a worker for it.
        threading.Thread(target=_finish, args=(ctx, req, sock, family, address, target), daemon=True).start()
    else:
        _finish(ctx, req, sock, family, address, target)


def _finish(ctx: Context, req: Request, sock: int, family: int, address: bytes, target) -> None:
    try:
        if target is not None:
            native.connect_path(sock, f"/proc/self/fd/{target.fd}")
        else:
            native.connect_raw(sock, address)
        ctx.listener.respond(req.id, 0)
    except OSError as error:
        ctx.listener.respond(req.id, error=error.errno or errno.EIO)
    finally:
        os.close(sock)
        if target is not None:
            target.close()
