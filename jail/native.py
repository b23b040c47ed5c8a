"""The checked layer over jail's C helper: negative errnos become OSError.

Only this module imports jail._native; everything else calls these functions.
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from jail._native import ffi, lib

PATH_MAX = 4096
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1

# Keep in step with the STAGE_* enum in native/jail_native.c.
SETUP_STAGES = {
    1: "start the sandbox's init process",
    2: "mount a private /proc for the sandbox",
    3: "change to the working directory",
    4: "switch to the agent's user and groups",
    5: "set no_new_privs",
    6: "apply the Landlock ruleset",
    7: "install the seccomp filter",
    8: "hand the seccomp listener to jail",
    9: "execute the command",
    10: "give the command its terminal",
}


def _check(rc: int, what: str) -> int:
    if rc < 0:
        raise OSError(-rc, f"{what}: {os.strerror(-rc)}")
    return rc


@dataclass(frozen=True)
class Notification:
    id: int
    pid: int  # thread id in jail's pid namespace
    nr: int
    arch: int
    args: tuple[int, int, int, int, int, int]


class Listener:
    """The seccomp listener fd; every call here is safe from many threads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        _check(lib.jl_set_sync_wakeup(fd), "SECCOMP_IOCTL_NOTIF_SET_FLAGS")

    def serve(self, stopfd: int, buf, fast: FastPath | None) -> Notification | None:
        """Wait for the next notification (the GIL is released while waiting).

        Returns None when the task went away before it could be taken; raises
        EOFError when no sandboxed task is left or stopfd became readable.

        What the fast path can answer (`fast`, None for none) is answered in
        C and never comes back: only the notifications Python must decide do.
        """
        rc = lib.jl_serve(self.fd, stopfd, buf, fast.handle if fast is not None else ffi.NULL)
        if rc in (-errno.EPIPE, -errno.ECANCELED):
            raise EOFError
        if rc == -errno.ENOENT:
            return None
        _check(rc, "SECCOMP_IOCTL_NOTIF_RECV")
        return Notification(buf.id, buf.pid, buf.nr, buf.arch, tuple(buf.args))

    def id_valid(self, notif_id: int) -> bool:
        return lib.jl_id_valid(self.fd, notif_id) == 0

    def respond(self, notif_id: int, value: int = 0, error: int = 0) -> bool:
        """Answer with a value, or with -error. False if the request vanished."""
        rc = lib.jl_respond(self.fd, notif_id, value, -error if error else 0, 0)
        if rc == -errno.ENOENT:
            return False
        _check(rc, "SECCOMP_IOCTL_NOTIF_SEND")
        return True

    def let_kernel_continue(self, notif_id: int) -> bool:
        """Let the kernel run the syscall itself. Only for execve, whose result is
        verified afterwards at the ptrace exec event, where the agent cannot interfere."""
        rc = lib.jl_respond(self.fd, notif_id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)
        if rc == -errno.ENOENT:
            return False
        _check(rc, "SECCOMP_IOCTL_NOTIF_SEND")
        return True

    def inject_fd(self, notif_id: int, fd: int, cloexec: bool) -> bool:
        """Install fd in the target and complete its syscall in one step."""
        rc = lib.jl_addfd_send(self.fd, notif_id, fd, os.O_CLOEXEC if cloexec else 0)
        if rc in (-errno.ENOENT, -errno.ESRCH):
            return False
        _check(rc, "SECCOMP_IOCTL_NOTIF_ADDFD")
        return True


class FastPath:
    """The verdict table C answers repeated opens from (native/jail_fastpath.c).

    Python remembers an open only after it allowed it, recorded it and found the
    file clean; C serves the same object at the same path, unchanged, again.
    """

    ACCESS_BITS: Final = MappingProxyType({"read": 0, "write": 1})

    def __init__(self, proc_devs: frozenset[int], memfd_dev: int) -> None:
        devs = ffi.new("uint64_t[]", sorted(proc_devs) or [0])
        self.handle = lib.jl_fast_new(devs, len(proc_devs), memfd_dev)
        if self.handle == ffi.NULL:
            raise OSError(errno.ENOMEM, "jl_fast_new")

    def remember(self, access: str, path: str, st: os.stat_result) -> None:
        _check(lib.jl_fast_remember(self.handle, self.ACCESS_BITS[access], st.st_dev, st.st_ino, st.st_size,
                                    st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_uid, st.st_gid,
                                    st.st_nlink, os.fsencode(path)), "jl_fast_remember")

    def clear(self) -> None:
        lib.jl_fast_clear(self.handle)

    def stats(self) -> dict[str, int]:
        out = ffi.new("uint64_t[4]")
        lib.jl_fast_stats(self.handle, out)
        return {"opens_served": out[0], "opens_failed": out[1], "stats_continued": out[2],
                "passed_up": out[3]}


def memfd_device() -> int:
    """st_dev shared by every memfd (the kernel's internal shmem mount)."""
    fd = os.memfd_create("jail-probe", os.MFD_CLOEXEC)
    try:
        return os.fstat(fd).st_dev
    finally:
        os.close(fd)


def new_notification_buffer():
    return ffi.new("struct jl_notif *")


def read_string(pid: int, addr: int, cap: int = PATH_MAX) -> str:
    """A NUL-terminated string from the target, as the kernel would read it."""
    if addr == 0:
        raise OSError(errno.EFAULT, "NULL path")
    buf = ffi.new("char[]", cap)
    n = _check(lib.jl_read_string(pid, addr, buf, cap), "process_vm_readv")
    return ffi.unpack(buf, n).decode("utf-8", "surrogateescape")


def read_bytes(pid: int, addr: int, size: int) -> bytes:
    buf = ffi.new("char[]", max(size, 1))
    _check(lib.jl_read_mem(pid, addr, buf, size), "process_vm_readv")
    return ffi.unpack(buf, size)


def write_bytes(pid: int, addr: int, data: bytes) -> None:
    """Fill an out-parameter of an emulated syscall in the target's memory."""
    if addr == 0:
        raise OSError(errno.EFAULT, "NULL buffer")
    _check(lib.jl_write_mem(pid, addr, data, len(data)), "process_vm_writev")


PIDFD_THREAD = os.O_EXCL  # pidfd_open flag (Linux 6.9): a pidfd for one thread


def fd_of_thread(tid: int, fd: int) -> int:
    """A duplicate of one of a thread's fds (the same open file description)."""
    pidfd = _check(lib.jl_pidfd_open(tid, PIDFD_THREAD), "pidfd_open")
    try:
        return _check(lib.jl_pidfd_getfd(pidfd, fd), "pidfd_getfd")
    finally:
        os.close(pidfd)


def connect_raw(fd: int, address: bytes) -> None:
    buf = ffi.from_buffer(address)
    _check(lib.jl_connect(fd, buf, len(address)), "connect")


def connect_path(fd: int, path: str) -> None:
    """connect to a unix socket by path (jail passes /proc/self/fd/N of the checked object)."""
    raw = os.fsencode(path)
    connect_raw(fd, struct.pack("H", 1) + raw + b"\0")


def openat2(dirfd: int, path: str, flags: int, mode: int = 0, resolve: int = 0) -> int:
    return _check(lib.jl_openat2(dirfd, os.fsencode(path), flags, mode, resolve), "openat2")


def renameat2(olddirfd: int, old: str, newdirfd: int, new: str, flags: int) -> None:
    _check(lib.jl_renameat2(olddirfd, os.fsencode(old), newdirfd, os.fsencode(new), flags), "renameat2")


def fchownat_empty(fd: int, uid: int, gid: int) -> None:
    _check(lib.jl_fchownat_empty(fd, uid, gid), "fchownat")


def utimensat_raw(fd: int, times: bytes | None) -> None:
    ptr = ffi.from_buffer(times) if times is not None else ffi.NULL
    _check(lib.jl_utimensat_fd(fd, ptr), "utimensat")


def set_thread_fscreds(uid: int, gid: int, groups: list[int] | None) -> None:
    """Make this thread open files as uid/gid/groups (filesystem credentials are per thread)."""
    arr = ffi.new("uint32_t[]", groups or [0])
    _check(lib.jl_set_fscreds(uid, gid, -1 if groups is None else len(groups), arr), "setfsuid")


def private_thread_fs() -> None:
    """Give this thread its own umask and cwd (unshare CLONE_FS)."""
    _check(lib.jl_unshare_fs(), "unshare(CLONE_FS)")


def signalfd_sigchld() -> int:
    return _check(lib.jl_signalfd_sigchld(), "signalfd")


def landlock_abi() -> int:
    rc = lib.jl_landlock_abi()
    return rc if rc > 0 else 0
