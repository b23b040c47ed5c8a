"""open, openat, openat2, creat: performed by the supervisor on the agent's
behalf and the fd injected, so the decision is made on the object opened."""

from __future__ import annotations

import errno
import os
import stat
import struct
import threading

from jail import native
from jail.policy import Access, Action, Verdict
from jail.profile.model import Rule
from jail.supervisor.context import Context, Denied, Request
from jail.supervisor.procinfo import task_ids
from jail.supervisor.resolve import AT_FDCWD, Resolved, split_parent
from jail.syscalls import Arg

O_TMPFILE_BIT = 0o20000000
O_ACCMODE = 3
_STRIP_ON_REOPEN = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_PROC_MEM_NAMES = ("mem",)


def decode_open(req: Request) -> tuple[int, str, int, int, int]:
    """(dirfd, path, flags, mode, resolve) of any of the four open calls."""
    name = req.syscall.name
    if name == "creat":
        return AT_FDCWD, req.string(Arg.PATH), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, req.arg(Arg.MODE), 0
    dirfd = req.int_arg(Arg.DIRFD) if req.has(Arg.DIRFD) else AT_FDCWD
    path = req.string(Arg.PATH)
    if name == "openat2":
        size = req.arg(Arg.SIZE)
        if size < 24:
            raise OSError(errno.EINVAL, "open_how too small")
        flags, mode, resolve = struct.unpack("QQQ", native.read_bytes(req.tid, req.arg(Arg.HOW), 24))
        return dirfd, path, flags & 0xFFFFFFFF, mode & 0o7777, resolve
    return dirfd, path, req.int_arg(Arg.FLAGS) & 0xFFFFFFFF, req.arg(Arg.MODE) & 0o7777, 0


def access_for(flags: int) -> Access:
    if flags & os.O_TRUNC or flags & O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
        return Access.WRITE
    return Access.READ


def handle_open(ctx: Context, req: Request) -> None:
    dirfd, path, flags, mode, resolve = decode_open(req)
    if (flags & O_TMPFILE_BIT) == O_TMPFILE_BIT:
        _open_tmpfile(ctx, req, dirfd, path, flags, mode)
    elif flags & os.O_CREAT:
        _open_create(ctx, req, dirfd, path, flags, mode)
    else:
        obj = ctx.resolver.lookup(req.tid, dirfd, path, follow=not flags & os.O_NOFOLLOW, resolve=resolve)
        try:
            _open_existing(ctx, req, obj, flags)
        finally:
            obj.close()


def _open_existing(ctx: Context, req: Request, obj: Resolved, flags: int) -> None:
    access = access_for(flags)
    if obj.foreign:
        ctx.check(req, access, obj.path, foreign=True)
    if _is_other_process_memory(ctx, req, obj):
        ctx.check(req, access, obj.path, foreign=True)
    ctx.check(req, access, obj.path, obj.st)
    if flags & os.O_PATH:
        _inject(ctx, req, os.dup(obj.fd), flags)
        return
    if ctx.redactor is not None and stat.S_ISREG(obj.st.st_mode) and _serve_redacted(ctx, req, obj, flags):
        return
    if stat.S_ISLNK(obj.st.st_mode):
        raise OSError(errno.ELOOP, "symlink with O_NOFOLLOW")
    ctx.remember_open(obj, access)  # allowed, recorded and clean: C may repeat it (fast path)
    reopen = (flags & ~_STRIP_ON_REOPEN) | os.O_CLOEXEC | os.O_NOCTTY
    if stat.S_ISFIFO(obj.st.st_mode) and not flags & os.O_NONBLOCK:
        # Opening a FIFO blocks until the other end shows up: do it off the worker.
        fd = os.dup(obj.fd)
        threading.Thread(target=_reopen_fifo, args=(ctx, req, fd, reopen, flags), daemon=True).start()
        return
    _inject(ctx, req, os.open(f"/proc/self/fd/{obj.fd}", reopen), flags)


def _serve_redacted(ctx: Context, req: Request, obj: Resolved, flags: int) -> bool:
    """True if the open was answered here: a redacted copy, or a refused write."""
    if ctx.writeback is not None and ctx.writeback.settle(obj.st):
        return _serve_written_back(ctx, req, obj, flags)
    scanned = ctx.redactor.scanned(obj.path, obj.fd, obj.st)
    if not scanned.findings:
        if scanned.unscanned:
            ctx.record_unscanned(req, obj.path, scanned.unscanned)
        return False
    if access_for(flags) is not Access.READ:
        ctx.record_redaction(req, obj.path, scanned)
        if scanned.transient:
            os.close(scanned.memfd)
        if flags & os.O_ACCMODE == os.O_WRONLY and ctx.writeback is not None:
            # Written in place: the real content is kept and the secrets are
            # put back when the writer closes it (writeback.py).
            ctx.writeback.watch(obj.path, obj.fd)
            _open_write_only(ctx, req, obj, flags)
            return True
        # A read-write open would read the real bytes; a rename over the file
        # (sed -i, editors) is restored instead, see paths._rename.
        raise Denied(redaction_write_verdict())
    ctx.record_redaction(req, obj.path, scanned)
    _inject(ctx, req, ctx.redactor.reopen(scanned), flags)
    return True


def _serve_written_back(ctx: Context, req: Request, obj: Resolved, flags: int) -> bool:
    """A file jail puts secrets back into when its writer closes it: readers get
    a snapshot (the file itself would show the secrets once restored), and a
    read-write open is refused."""
    access = flags & os.O_ACCMODE
    if access == os.O_WRONLY:
        _open_write_only(ctx, req, obj, flags)
        return True
    if access != os.O_RDONLY:
        raise Denied(redaction_write_verdict())
    snapshot = ctx.redactor.snapshot(obj.path, obj.fd)
    if snapshot.findings:
        ctx.record_redaction(req, obj.path, snapshot)
    _inject(ctx, req, ctx.redactor.reopen(snapshot), flags)
    return True


def _open_write_only(ctx: Context, req: Request, obj: Resolved, flags: int) -> None:
    """The real file, write-only, answered here and never remembered for the C
    fast path: its table does not tell write-only from read-write, and a
    read-write open of this file must stay refused."""
    reopen = (flags & ~_STRIP_ON_REOPEN) | os.O_CLOEXEC | os.O_NOCTTY
    _inject(ctx, req, os.open(f"/proc/self/fd/{obj.fd}", reopen), flags)


def redaction_write_verdict() -> Verdict:
    return Verdict(Action.DENY, REDACTED_WRITE_RULE, REDACTED_WRITE_RULE.reason or "")


REDACTED_WRITE_RULE = Rule(
    kind="jail.redacted_file", pattern="file holding secrets", source="<jail>", line=0,
    reason="the agent sees a redacted copy; a read-write open would show the secrets (write-only opens "
           "and renames over the file keep them)")


def _reopen_fifo(ctx: Context, req: Request, opath: int, reopen: int, flags: int) -> None:
    try:
        fd = os.open(f"/proc/self/fd/{opath}", reopen)
    except OSError as error:
        ctx.listener.respond(req.id, error=error.errno or errno.EIO)
        return
    finally:
        os.close(opath)
    _inject(ctx, req, fd, flags)


def _is_other_process_memory(ctx: Context, req: Request, obj: Resolved) -> bool:
    """/proc/PID/mem of another process would let one sandboxed process rewrite another."""
    if obj.st is None or obj.st.st_dev not in ctx.view.proc_devs:
        return False
    parts = obj.path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "proc" or parts[-1] not in _PROC_MEM_NAMES:
        return False
    ids = task_ids(req.tid)
    own = ids.ns_tgid if ctx.view.pidns else ids.tgid
    return parts[1] != str(own)


def _open_create(ctx: Context, req: Request, dirfd: int, path: str, flags: int, mode: int) -> None:
    head, name = split_parent(path)
    for _ in range(40):  # a dangling symlink is followed to the file it would create
        parent = ctx.resolver.lookup(req.tid, dirfd, head, follow=True)
        try:
            if not stat.S_ISDIR(parent.st.st_mode):
                raise OSError(errno.ENOTDIR, "not a directory")
            if name in (".", "..") or path.endswith("/"):
                raise OSError(errno.EISDIR, "is a directory")
            try:
                existing = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
            except FileNotFoundError:
                existing = None
            if existing is not None and flags & os.O_EXCL:
                raise OSError(errno.EEXIST, "exists")
            if existing is not None and stat.S_ISLNK(existing.st_mode) and not flags & os.O_NOFOLLOW:
                target = os.readlink(name, dir_fd=parent.fd)
                if os.path.exists(os.path.join(f"/proc/self/fd/{parent.fd}", name)):
                    obj = ctx.resolver.lookup(req.tid, dirfd, path, follow=True)
                    try:
                        _open_existing(ctx, req, obj, flags & ~os.O_CREAT)
                    finally:
                        obj.close()
                    return
                # Dangling: create what it points to, as the kernel would.
                path = target if target.startswith("/") else _child(parent.path, target)
                dirfd = AT_FDCWD
                head, name = split_parent(path)
                continue
            if existing is not None:
                obj = ctx.resolver.lookup(req.tid, dirfd, path, follow=not flags & os.O_NOFOLLOW)
                try:
                    _open_existing(ctx, req, obj, flags & ~os.O_CREAT)
                finally:
                    obj.close()
                return
            ctx.check(req, Access.CREATE, _child(parent.path, name), None)
            umask = task_ids(req.tid).umask
            os.umask(umask)  # this worker thread has a private fs_struct
            fd = os.open(name, (flags & ~os.O_NOFOLLOW) | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY,
                         mode, dir_fd=parent.fd)
            _inject(ctx, req, fd, flags)
            return
        finally:
            parent.close()
    raise OSError(errno.ELOOP, "too many symlinks")


def _open_tmpfile(ctx: Context, req: Request, dirfd: int, path: str, flags: int, mode: int) -> None:
    directory = ctx.resolver.lookup(req.tid, dirfd, path, follow=True)
    try:
        ctx.check(req, Access.CREATE, _child(directory.path, "(unnamed file)"), None)
        os.umask(task_ids(req.tid).umask)
        fd = os.open(".", (flags | os.O_CLOEXEC | os.O_NOCTTY), mode, dir_fd=directory.fd)
        _inject(ctx, req, fd, flags)
    finally:
        directory.close()


def _inject(ctx: Context, req: Request, fd: int, flags: int) -> None:
    try:
        ctx.listener.inject_fd(req.id, fd, cloexec=bool(flags & os.O_CLOEXEC))
    finally:
        os.close(fd)


def _child(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name
