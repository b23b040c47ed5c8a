"""Changes to names and metadata (unlink, rename, mkdir, chmod, ...) and to
the objects behind fds (fchmod, fchown, fsetxattr): resolved to objects and
parent directories held as fds, checked, then performed by the supervisor
with the agent's filesystem credentials."""

from __future__ import annotations

import errno
import os
import secrets
import stat
import struct
from collections.abc import Callable

from jail import native
from jail.policy import Access, Action, Rule, Verdict
from jail.supervisor.context import Context, Denied, Request
from jail.supervisor.procinfo import task_ids
from jail.supervisor.resolve import AT_FDCWD, Resolved, split_parent
from jail.syscalls import Arg

AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
XATTR_SIZE_MAX = 65536


def _dirfd(req: Request, role: Arg = Arg.DIRFD) -> int:
    return req.int_arg(role) if req.has(role) else AT_FDCWD


def _flags(req: Request) -> int:
    return req.int_arg(Arg.FLAGS) if req.has(Arg.FLAGS) else 0


class _Parent:
    """The directory a name lives in, held open, and the name."""

    def __init__(self, ctx: Context, req: Request, dirfd: int, path: str) -> None:
        head, self.name = split_parent(path)
        if self.name in (".", ".."):
            raise OSError(errno.EINVAL, "invalid name")
        self.dir = ctx.resolver.lookup(req.tid, dirfd, head, follow=True)
        if not stat.S_ISDIR(self.dir.st.st_mode):
            self.dir.close()
            raise OSError(errno.ENOTDIR, "not a directory")
        self.path = self.dir.path.rstrip("/") + "/" + self.name

    def stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.name, dir_fd=self.dir.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def __enter__(self) -> _Parent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dir.close()


def _object(ctx: Context, req: Request, dirfd: int, path_role: Arg, follow: bool, flags: int) -> Resolved:
    """The object a (dirfd, path) names; AT_EMPTY_PATH or a NULL path mean dirfd itself."""
    addr = req.arg(path_role)
    if addr == 0 or (flags & AT_EMPTY_PATH and native.read_string(req.tid, addr) == ""):
        if dirfd == AT_FDCWD:
            return ctx.resolver.lookup(req.tid, AT_FDCWD, ".", follow=True)
        return ctx.resolver.lookup_fd(req.tid, dirfd)
    return ctx.resolver.lookup(req.tid, dirfd, req.string(path_role), follow=follow)


def _magic(obj: Resolved) -> str:
    return f"/proc/self/fd/{obj.fd}"


def _checked_object(ctx: Context, req: Request, obj: Resolved, access: Access = Access.WRITE) -> None:
    ctx.check(req, access, obj.path, obj.st, foreign=obj.foreign)


# -- names -------------------------------------------------------------------

def _unlink(ctx: Context, req: Request) -> None:
    rmdir = req.syscall.name == "rmdir" or bool(_flags(req) & AT_REMOVEDIR)
    with _Parent(ctx, req, _dirfd(req), req.string(Arg.PATH)) as parent:
        st = parent.stat()
        if st is None:
            raise OSError(errno.ENOENT, "no such file")
        ctx.check(req, Access.DELETE, parent.path, st)
        (os.rmdir if rmdir else os.unlink)(parent.name, dir_fd=parent.dir.fd)


def _mkdir(ctx: Context, req: Request) -> None:
    with _Parent(ctx, req, _dirfd(req), req.string(Arg.PATH)) as parent:
        if parent.stat() is not None:
            raise OSError(errno.EEXIST, "exists")
        ctx.check(req, Access.CREATE, parent.path)
        os.umask(task_ids(req.tid).umask)
        mode = req.arg(Arg.MODE) & 0o7777
        if req.syscall.name.startswith("mknod"):
            os.mknod(parent.name, req.arg(Arg.MODE) & 0xFFFFFFFF, req.arg(Arg.DEV), dir_fd=parent.dir.fd)
        else:
            os.mkdir(parent.name, mode, dir_fd=parent.dir.fd)


def _rename(ctx: Context, req: Request) -> None:
    flags = _flags(req)
    old_dirfd, new_dirfd = _dirfd(req, Arg.OLDDIRFD), _dirfd(req, Arg.NEWDIRFD)
    with _Parent(ctx, req, old_dirfd, req.string(Arg.OLDPATH)) as old, \
            _Parent(ctx, req, new_dirfd, req.string(Arg.NEWPATH)) as new:
        st = old.stat()
        if st is None:
            raise OSError(errno.ENOENT, "no such file")
        ctx.check(req, Access.DELETE, old.path, st)
        replaced = new.stat()
        ctx.check(req, Access.CREATE, new.path, replaced)
        if ctx.redactor is not None and replaced is not None and stat.S_ISREG(replaced.st_mode):
            _restore_secrets(ctx, req, old, new)
        native.renameat2(old.dir.fd, old.name, new.dir.fd, new.name, flags)


RESTORE_RULE = Rule(
    kind="jail.redacted_file", pattern="placeholder moved", source="<jail>", line=0,
    reason="a secret is put back only on a line the agent left as it read it")


def _restore_secrets(ctx: Context, req: Request, old: _Parent, new: _Parent) -> None:
    """A file that holds secrets is being replaced (sed -i, an editor's save):
    the agent wrote it from the redacted copy, so put the real values back.
    A placeholder that cannot go back where it came from refuses the rename:
    the real file stays as it was."""
    target = os.open(new.name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=new.dir.fd)
    try:
        scanned = ctx.redactor.scanned(new.path, target, os.fstat(target))
        if not scanned.findings:
            return
        with open(f"/proc/self/fd/{target}", "rb") as f:
            original = f.read()
    finally:
        os.close(target)
    fd = os.open(old.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=old.dir.fd)
    with open(fd, "rb") as f:
        written = f.read()
        mode = os.fstat(f.fileno()).st_mode & 0o7777
    result = ctx.redactor.restore(new.path, written, original)
    if result.unresolved:
        first = result.unresolved[0]
        verdict = Verdict(Action.DENY, RESTORE_RULE,
                          f"placeholder {first.rule_id or 'REDACTED_BY_POLICY'} on line {first.line}: "
                          f"{first.reason}")
        ctx.record(req, Access.CREATE, new.path, verdict)
        raise Denied(verdict)
    if result.data != written:
        _replace_with(old, result.data, mode)


def _replace_with(old: _Parent, data: bytes, mode: int) -> None:
    """Put `data` under old's name as a new file. Never written into the agent's
    own file: a descriptor it holds on that file must not start showing secrets."""
    temp = f".{old.name[:200]}.jail-{secrets.token_hex(4)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                 dir_fd=old.dir.fd)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
        os.rename(temp, old.name, src_dir_fd=old.dir.fd, dst_dir_fd=old.dir.fd)
    except BaseException:
        os.unlink(temp, dir_fd=old.dir.fd)
        raise


def _link(ctx: Context, req: Request) -> None:
    flags = _flags(req)
    follow = bool(flags & AT_SYMLINK_FOLLOW)
    obj = _object(ctx, req, _dirfd(req, Arg.OLDDIRFD), Arg.OLDPATH, follow, flags)
    try:
        _checked_object(ctx, req, obj, Access.LINK)
        with _Parent(ctx, req, _dirfd(req, Arg.NEWDIRFD), req.string(Arg.NEWPATH)) as new:
            if new.stat() is not None:
                raise OSError(errno.EEXIST, "exists")
            ctx.check(req, Access.CREATE, new.path)
            os.link(_magic(obj), new.name, dst_dir_fd=new.dir.fd, follow_symlinks=True)
    finally:
        obj.close()


def _symlink(ctx: Context, req: Request) -> None:
    target = req.string(Arg.TARGET)
    with _Parent(ctx, req, _dirfd(req, Arg.NEWDIRFD), req.string(Arg.NEWPATH)) as new:
        if new.stat() is not None:
            raise OSError(errno.EEXIST, "exists")
        ctx.check(req, Access.CREATE, new.path)
        os.symlink(target, new.name, dir_fd=new.dir.fd)


# -- metadata ----------------------------------------------------------------

def _on_object(ctx: Context, req: Request, action: Callable[[Resolved], None],
               nofollow: bool = False) -> None:
    flags = _flags(req)
    follow = not (nofollow or flags & AT_SYMLINK_NOFOLLOW)
    obj = _object(ctx, req, _dirfd(req), Arg.PATH, follow, flags)
    try:
        _checked_object(ctx, req, obj)
        action(obj)
    finally:
        obj.close()


def _truncate(ctx: Context, req: Request) -> None:
    length = req.arg(Arg.LENGTH)
    length = length - (1 << 64) if length >= 1 << 63 else length
    _on_object(ctx, req, lambda obj: os.truncate(_magic(obj), length))


def _chmod(ctx: Context, req: Request) -> None:
    mode = req.arg(Arg.MODE) & 0o7777

    def apply(obj: Resolved) -> None:
        if stat.S_ISLNK(obj.st.st_mode):
            raise OSError(errno.EOPNOTSUPP, "cannot chmod a symlink")
        os.chmod(_magic(obj), mode)
    _on_object(ctx, req, apply)


def _chown(ctx: Context, req: Request) -> None:
    uid, gid = req.int_arg(Arg.UID), req.int_arg(Arg.GID)
    _on_object(ctx, req, lambda obj: native.fchownat_empty(obj.fd, uid, gid),
               nofollow=req.syscall.name == "lchown")


def _times(req: Request) -> bytes | None:
    """The new times as struct timespec[2], whatever the call's own format."""
    addr = req.arg(Arg.TIMES)
    if addr == 0:
        return None
    name = req.syscall.name
    if name == "utimensat":
        return native.read_bytes(req.tid, addr, 32)
    if name == "utime":
        atime, mtime = struct.unpack("qq", native.read_bytes(req.tid, addr, 16))
        return struct.pack("qqqq", atime, 0, mtime, 0)
    a_s, a_us, m_s, m_us = struct.unpack("qqqq", native.read_bytes(req.tid, addr, 32))
    return struct.pack("qqqq", a_s, a_us * 1000, m_s, m_us * 1000)


def _utimes(ctx: Context, req: Request) -> None:
    times = _times(req)
    _on_object(ctx, req, lambda obj: native.utimensat_raw(obj.fd, times))


def _xattr_name_value(req: Request) -> tuple[str, bytes | None]:
    name = req.string(Arg.NAME)
    if not req.has(Arg.VALUE):
        return name, None
    size = req.arg(Arg.SIZE)
    if size > XATTR_SIZE_MAX:
        raise OSError(errno.E2BIG, "xattr value too large")
    return name, native.read_bytes(req.tid, req.arg(Arg.VALUE), size) if size else b""


def _xattr_apply(req: Request, obj: Resolved, name: str, value: bytes | None) -> None:
    if value is None:
        os.removexattr(_magic(obj), name)
    else:
        os.setxattr(_magic(obj), name, value, req.int_arg(Arg.FLAGS))


def _xattr(ctx: Context, req: Request) -> None:
    name, value = _xattr_name_value(req)
    _on_object(ctx, req, lambda obj: _xattr_apply(req, obj, name, value),
               nofollow=req.syscall.name.startswith("l"))


# -- objects behind fds ------------------------------------------------------

def _on_fd(ctx: Context, req: Request, action: Callable[[Resolved], None]) -> None:
    obj = ctx.resolver.lookup_fd(req.tid, req.int_arg(Arg.FD))
    try:
        _checked_object(ctx, req, obj)
        action(obj)
    finally:
        obj.close()


def _fchmod(ctx: Context, req: Request) -> None:
    mode = req.arg(Arg.MODE) & 0o7777
    _on_fd(ctx, req, lambda obj: os.chmod(_magic(obj), mode))


def _fchown(ctx: Context, req: Request) -> None:
    uid, gid = req.int_arg(Arg.UID), req.int_arg(Arg.GID)
    _on_fd(ctx, req, lambda obj: native.fchownat_empty(obj.fd, uid, gid))


def _fxattr(ctx: Context, req: Request) -> None:
    name, value = _xattr_name_value(req)
    _on_fd(ctx, req, lambda obj: _xattr_apply(req, obj, name, value))


HANDLERS: dict[str, Callable[[Context, Request], None]] = {
    "unlink": _unlink, "unlinkat": _unlink, "rmdir": _unlink,
    "mkdir": _mkdir, "mkdirat": _mkdir, "mknod": _mkdir, "mknodat": _mkdir,
    "rename": _rename, "renameat": _rename, "renameat2": _rename,
    "link": _link, "linkat": _link,
    "symlink": _symlink, "symlinkat": _symlink,
    "truncate": _truncate,
    "chmod": _chmod, "fchmodat": _chmod, "fchmodat2": _chmod,
    "chown": _chown, "lchown": _chown, "fchownat": _chown,
    "utime": _utimes, "utimes": _utimes, "futimesat": _utimes, "utimensat": _utimes,
    "setxattr": _xattr, "lsetxattr": _xattr, "removexattr": _xattr, "lremovexattr": _xattr,
    "fchmod": _fchmod, "fchown": _fchown, "fsetxattr": _fxattr, "fremovexattr": _fxattr,
}


def handle_path(ctx: Context, req: Request) -> None:
    HANDLERS[req.syscall.name](ctx, req)
    ctx.listener.respond(req.id, 0)
