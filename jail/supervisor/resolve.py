"""Resolve a path the way the kernel would for the sandboxed thread, to an
O_PATH fd of the object itself, in the agent's view of the filesystem.

Decisions are made on that object (its canonical path and inode), never on
the string the agent passed, which another thread could still change.

Names that depend on who asks (/proc/self, /proc/thread-self, /dev/fd/N,
/dev/stdin, /dev/tty) must mean the agent's, not the supervisor's. The fast
path is one openat2 with RESOLVE_NO_MAGICLINKS; whatever lands on procfs (or
is /dev/tty) is walked again component by component with those names
translated, and /proc entries of processes outside the sandbox refused.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from jail import native
from jail.supervisor.procinfo import descends_from, task_ids

AT_FDCWD = -100
RESOLVE_NO_MAGICLINKS = 0x02
MAX_SYMLINKS = 40
TTY_RDEV = os.makedev(5, 0)
O_OPATH = os.O_PATH | os.O_CLOEXEC
CONTEXT_PREFIXES = ("/proc/", "/dev/")


@dataclass
class Resolved:
    fd: int                 # O_PATH fd owned by the caller; -1 for a foreign process entry
    path: str               # canonical path in the agent's view, or "pipe:[..]" and the like
    st: os.stat_result | None
    foreign: bool = False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class SandboxView:
    """What the resolver needs to know about the sandbox it serves."""

    def __init__(self, agent_pid: int, shim_pid: int, pidns: bool) -> None:
        self.pidns = pidns
        self.shim_pid = shim_pid
        self.root_fd = os.open(f"/proc/{agent_pid}/root", O_OPATH)
        devs = {os.stat("/proc").st_dev}
        try:
            devs.add(os.stat("proc", dir_fd=self.root_fd).st_dev)
        except OSError:
            pass
        self.proc_devs = frozenset(devs)

    def is_sandboxed(self, pid_in_view: int) -> bool:
        if self.pidns:
            return pid_in_view != 1  # the shim is pid 1; everything else in the namespace is ours
        return pid_in_view != self.shim_pid and descends_from(pid_in_view, self.shim_pid)


def split_parent(path: str) -> tuple[str, str]:
    """('dir', 'name') of a path whose last component is to be created or removed."""
    stripped = path.rstrip("/") or "/"
    head, _, name = stripped.rpartition("/")
    if not _:
        return ".", stripped
    return (head or "/"), name


class Resolver:
    def __init__(self, view: SandboxView) -> None:
        self.view = view

    def base_fd(self, tid: int, dirfd: int, path: str) -> int:
        """An O_PATH fd of where a relative path starts, or AT_FDCWD for an absolute one."""
        if path.startswith("/"):
            return AT_FDCWD
        if dirfd == AT_FDCWD:
            return os.open(f"/proc/{tid}/cwd", O_OPATH)
        try:
            return os.open(f"/proc/{tid}/fd/{dirfd}", O_OPATH)
        except FileNotFoundError:
            raise OSError(errno.EBADF, "bad dirfd") from None

    def lookup(self, tid: int, dirfd: int, path: str, follow: bool, resolve: int = 0) -> Resolved:
        if path == "":
            raise OSError(errno.ENOENT, "empty path")
        base = self.base_fd(tid, dirfd, path)
        try:
            return self._lookup_from(tid, base, path, follow, resolve)
        finally:
            if base != AT_FDCWD:
                os.close(base)

    def lookup_fd(self, tid: int, fd: int) -> Resolved:
        """The object behind one of the thread's fds (what the kernel reopens for /proc/self/fd/N)."""
        try:
            obj = os.open(f"/proc/{tid}/fd/{fd}", O_OPATH)
        except FileNotFoundError:
            raise OSError(errno.EBADF, "bad fd") from None
        return self._finish(obj, None)

    def _lookup_from(self, tid: int, base: int, path: str, follow: bool, resolve: int) -> Resolved:
        flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
        try:
            fd = native.openat2(base, path, flags, 0, resolve | RESOLVE_NO_MAGICLINKS)
        except OSError as error:
            # A magic link (ELOOP/EXDEV), or an error that may come from jail's
            # own /proc/self or /dev/fd instead of the agent's: walk again.
            if error.errno in (errno.ELOOP, errno.EXDEV) or path.startswith(CONTEXT_PREFIXES):
                return self._walk(tid, base, path, follow)
            raise
        st = os.fstat(fd)
        if st.st_dev in self.view.proc_devs or (stat.S_ISCHR(st.st_mode) and st.st_rdev == TTY_RDEV):
            os.close(fd)
            return self._walk(tid, base, path, follow)
        return self._finish(fd, st)

    def _finish(self, fd: int, st: os.stat_result | None, path: str | None = None) -> Resolved:
        if st is None:
            st = os.fstat(fd)
        if path is None or st.st_dev not in self.view.proc_devs:
            path = os.readlink(f"/proc/self/fd/{fd}")
            if path.endswith(" (deleted)"):
                path = path[: -len(" (deleted)")]
        return Resolved(fd, path, st)

    # -- the careful walk ----------------------------------------------------

    def _walk(self, tid: int, base: int, path: str, follow: bool) -> Resolved:
        ids = task_ids(tid)
        own = (ids.ns_tgid, ids.ns_tid) if self.view.pidns else (ids.tgid, tid)
        if path.startswith("/") or base == AT_FDCWD:
            walk = _Walk(os.dup(self.view.root_fd), "/")
        else:
            walk = _Walk(os.dup(base), os.readlink(f"/proc/self/fd/{base}"))
        parts = [p for p in path.split("/") if p]
        try:
            while parts:
                comp = parts.pop(0)
                if comp == ".":
                    continue
                if comp == "..":
                    self._parent(walk)
                    continue
                at_proc_root = self._is_proc_root(walk.fd)
                if at_proc_root and comp in ("self", "thread-self"):
                    # The caller's own numbers, as it sees them in its pid namespace.
                    parts[:0] = [str(own[0])] if comp == "self" else [str(own[0]), "task", str(own[1])]
                    continue
                if at_proc_root and comp.isdigit() and not self.view.is_sandboxed(int(comp)):
                    return Resolved(-1, _join(walk.path, comp), None, foreign=True)
                self._step(walk, comp, parts, follow or bool(parts), at_proc_root)
        except BaseException:
            os.close(walk.fd)
            raise
        st = os.fstat(walk.fd)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == TTY_RDEV:
            os.close(walk.fd)
            return self._controlling_tty(tid)
        return self._finish(walk.fd, st, walk.path)

    def _step(self, walk: _Walk, comp: str, parts: list[str], follow: bool, at_proc_root: bool) -> None:
        """Move one component; a symlink puts its text back in front of `parts`."""
        nxt = os.open(comp, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=walk.fd)
        st = os.fstat(nxt)
        if not (stat.S_ISLNK(st.st_mode) and follow):
            if parts and not stat.S_ISDIR(st.st_mode):
                os.close(nxt)
                raise OSError(errno.ENOTDIR, "not a directory")
            walk.move(nxt, _join(walk.path, comp))
            return
        os.close(nxt)
        walk.links += 1
        if walk.links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, "too many symlinks")
        if st.st_dev in self.view.proc_devs and not at_proc_root:
            # A magic link of a sandboxed process (fd/N, cwd, root, exe): the
            # kernel follows it to the object that process holds.
            nxt = os.open(comp, O_OPATH, dir_fd=walk.fd)
            walk.move(nxt, os.readlink(f"/proc/self/fd/{nxt}"))
            return
        text = os.readlink(comp, dir_fd=walk.fd)
        parts[:0] = [p for p in text.split("/") if p]
        if text.startswith("/"):
            walk.move(os.dup(self.view.root_fd), "/")

    def _parent(self, walk: _Walk) -> None:
        root = os.fstat(self.view.root_fd)
        here = os.fstat(walk.fd)
        if (here.st_dev, here.st_ino) == (root.st_dev, root.st_ino):
            walk.path = "/"  # ".." of the root is the root
            return
        walk.move(os.open("..", O_OPATH, dir_fd=walk.fd), os.path.dirname(walk.path.rstrip("/")) or "/")

    def _is_proc_root(self, fd: int) -> bool:
        st = os.fstat(fd)
        return st.st_dev in self.view.proc_devs and st.st_ino == 1

    def _controlling_tty(self, tid: int) -> Resolved:
        """/dev/tty means the caller's controlling terminal, not jail's."""
        with open(f"/proc/{tid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
        tty_nr = int(data[data.rindex(")") + 2:].split()[4])
        if tty_nr == 0:
            raise OSError(errno.ENXIO, "no controlling terminal")
        major, minor = (tty_nr >> 8) & 0xFFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
        if 136 <= major <= 143:
            path = f"/dev/pts/{(major - 136) * 256 + minor}"
        elif major == 4:
            path = f"/dev/tty{minor}"
        else:
            raise OSError(errno.ENXIO, "unsupported controlling terminal")
        fd = os.open(path, O_OPATH)
        st = os.fstat(fd)
        if st.st_rdev != os.makedev(major, minor):
            os.close(fd)
            raise OSError(errno.ENXIO, "controlling terminal not found")
        return Resolved(fd, path, st)


class _Walk:
    """Where a component walk stands: an O_PATH fd it owns and that fd's path."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd, self.path, self.links = fd, path, 0

    def move(self, fd: int, path: str) -> None:
        os.close(self.fd)
        self.fd, self.path = fd, path


def _join(base: str, comp: str) -> str:
    return base.rstrip("/") + "/" + comp
