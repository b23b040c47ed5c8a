"""`jail doctor`: which kernel features jail relies on are here, and what it falls back to.

Everything is probed for real: system calls are made (in a throwaway child where
they change the process for good), sysctls are read. Probing is kept apart from
formatting so the formatting can be tested on made-up checks.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import os
import platform
import re
from collections.abc import Callable

# x86_64 numbers: doctor runs the probes only where jail runs at all.
NR_SECCOMP = 317
NR_PIDFD_OPEN = 434
NR_OPENAT2 = 437
NR_PIDFD_GETFD = 438
NR_LANDLOCK_CREATE_RULESET = 444

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5
SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104  # _IOW('!', 4, __u64)
SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1
SECCOMP_RET_ALLOW = 0x7FFF0000
BPF_RET_K = 0x06  # BPF_RET | BPF_K
AT_FDCWD = -100
RESOLVE_NO_MAGICLINKS = 0x02
LANDLOCK_CREATE_RULESET_VERSION = 1
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000

MIN_KERNEL = (5, 14)  # SECCOMP_ADDFD_FLAG_SEND: an emulated open answered atomically
LANDLOCK_FEATURES = ((2, "refer"), (3, "truncate"), (4, "TCP"),
                     (5, "device ioctl"), (6, "signal + abstract-socket scoping"))


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    required: bool
    detail: str


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number: int, *args: object) -> tuple[int, int]:
    """(result, errno) of a raw system call; errno is 0 on success."""
    # Plain ints would go through the variadic call as 32-bit; syscall() reads longs.
    wide = [ctypes.c_long(arg) if isinstance(arg, int) else arg for arg in args]
    ctypes.set_errno(0)
    result = _libc.syscall(ctypes.c_long(number), *wide)
    return result, (ctypes.get_errno() if result < 0 else 0)


def _why(err: int) -> str:
    if err == errno.ENOSYS:
        return "not in this kernel (ENOSYS)"
    if err == errno.EPERM:
        return "blocked (EPERM) — a container's seccomp filter?"
    return f"failed: {errno.errorcode.get(err, err)} ({os.strerror(err)})"


def read_sysctl(name: str) -> str | None:
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as file:
            return file.read().strip()
    except OSError:
        return None


def kernel_version(release: str | None = None) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", release or os.uname().release)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _in_child(probe: Callable[[], dict[str, int]]) -> dict[str, int] | None:
    """Run `probe` in a forked child (for changes that cannot be undone) and
    return what it reported, or None if it died without reporting."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(probe()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _seccomp_probe() -> dict[str, int]:
    """Child: install an allow-all filter with a listener, with and without the
    killable-wait flag, then set the sync-wake-up flag on the listener."""
    allow = _SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)
    prog = _SockFprog(1, ctypes.pointer(allow))
    _libc.prctl(PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0),
                ctypes.c_ulong(0))
    report = {}
    flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    fd, report["killable"] = _syscall(NR_SECCOMP, SECCOMP_SET_MODE_FILTER, flags,
                                      ctypes.byref(prog))
    if fd < 0:
        fd, report["listener"] = _syscall(NR_SECCOMP, SECCOMP_SET_MODE_FILTER,
                                          SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(prog))
    else:
        report["listener"] = 0
    if fd >= 0:
        # The flags travel by value in the ioctl argument, not through a pointer.
        result = _libc.ioctl(fd, ctypes.c_ulong(SECCOMP_IOCTL_NOTIF_SET_FLAGS),
                             ctypes.c_ulong(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP))
        report["sync"] = ctypes.get_errno() if result < 0 else 0
    return report


def _unshare(flags: int) -> int:
    """errno of unshare(flags), 0 on success (os.unshare exists from Python 3.12)."""
    if hasattr(os, "unshare"):
        try:
            os.unshare(flags)
        except OSError as error:
            return error.errno or errno.EPERM
        return 0
    ctypes.set_errno(0)
    return ctypes.get_errno() if _libc.unshare(flags) != 0 else 0


def _pidns_probe() -> dict[str, int]:
    """Child: enter a new pid namespace (via a user namespace when not root) and
    check that a process started in it is its pid 1."""
    flags = CLONE_NEWPID if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWPID
    err = _unshare(flags)
    if err:
        return {"error": err}
    pid = os.fork()
    if pid == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    _, status = os.waitpid(pid, 0)
    return {"error": 0, "pid1": int(os.waitstatus_to_exitcode(status) == 0)}


# -- one probe per feature ---------------------------------------------------------------


def check_architecture() -> Check:
    machine = platform.machine()
    if machine == "x86_64":
        return Check("architecture", True, True,
                     "x86_64; i386 (int 0x80) and x32 system calls are killed")
    return Check("architecture", False, True,
                 f"{machine}: jail's filter and syscall table cover x86_64 only")


def check_kernel() -> Check:
    release = os.uname().release
    ok = kernel_version(release) >= MIN_KERNEL
    need = ".".join(map(str, MIN_KERNEL))
    return Check("kernel", ok, True,
                 f"{release} (>= {need}: emulated opens answered by ADDFD_FLAG_SEND)")


def _seccomp_mode() -> str:
    try:
        with open("/proc/self/status") as status:
            mode = next((line.split()[1] for line in status if line.startswith("Seccomp:")), "")
    except OSError:
        mode = ""
    return {"0": "not filtered", "1": "strict mode", "2": "already under a filter"}.get(
        mode, "unknown")


def check_seccomp() -> list[Check]:
    actions = read_sysctl("kernel.seccomp.actions_avail")
    if actions is None:
        filter_check = Check("seccomp filter", False, True,
                             "no /proc/sys/kernel/seccomp: kernel built without SECCOMP_FILTER")
        return [filter_check, Check("seccomp user notification", False, True, "needs seccomp")]
    filter_check = Check("seccomp filter", True, True, f"available; this process: {_seccomp_mode()}")
    if "user_notif" not in actions.split():
        return [filter_check, Check("seccomp user notification", False, True,
                                    "user_notif is not in kernel.seccomp.actions_avail")]
    report = _in_child(_seccomp_probe) or {}
    listener = report.get("listener", -1)
    version = kernel_version()
    if listener == 0:
        notif = Check("seccomp user notification", True, True,
                      "a listener can be installed: every decision goes through it")
    elif listener == errno.EBUSY:
        notif = Check("seccomp user notification", False, True,
                      "a listener is already installed above this process "
                      "(running under another supervisor, or inside jail?)")
    else:
        why = _why(listener) if listener > 0 else "the probe process died"
        notif = Check("seccomp user notification", False, True, f"installing a listener {why}")
    checks = [filter_check, notif]
    killable = report.get("killable")
    if killable is None or listener != 0:
        ok = version >= (6, 0)  # could not probe: go by version
        how = f"kernel {'>=' if ok else '<'} 6.0 (not probed)"
    else:
        ok, how = killable == 0, ("accepted" if killable == 0 else _why(killable))
    checks.append(Check(
        "seccomp wait-killable-recv", ok, False,
        f"{how}; " + ("signals cannot restart a call awaiting a decision" if ok else
                      "fallback: signals may restart a call awaiting a prompt forever")))
    sync = report.get("sync")
    if sync is None:
        ok = version >= (6, 6)
        how = f"kernel {'>=' if ok else '<'} 6.6 (not probed)"
    else:
        ok, how = sync == 0, ("accepted" if sync == 0 else _why(sync))
    checks.append(Check(
        "seccomp sync-wake-up", ok, False,
        f"{how}; " + ("a trapped call costs ~9 us, not ~58" if ok else
                      "fallback: plain wake-ups, ~58 us per trapped call, not ~9")))
    return checks


def check_pidfd() -> list[Check]:
    pidfd, err = _syscall(NR_PIDFD_OPEN, os.getpid(), 0)
    if pidfd < 0:
        return [Check("pidfd_open", False, True, _why(err)),
                Check("pidfd_getfd", False, True, "not probed: needs pidfd_open")]
    try:
        # A descriptor of our own, so the probe does not depend on stdin being open.
        probe_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        try:
            copy, err = _syscall(NR_PIDFD_GETFD, pidfd, probe_fd, 0)
        finally:
            os.close(probe_fd)
    finally:
        os.close(pidfd)
    opened = Check("pidfd_open", True, True, "a stable handle on each process jail acts for")
    if copy < 0:
        return [opened, Check("pidfd_getfd", False, True, _why(err))]
    os.close(copy)
    return [opened, Check("pidfd_getfd", True, True,
                          "copies the agent's fds, e.g. a socket to connect for it")]


def check_openat2() -> Check:
    how = _OpenHow(os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, 0, RESOLVE_NO_MAGICLINKS)
    fd, err = _syscall(NR_OPENAT2, AT_FDCWD, b"/", ctypes.byref(how),
                       ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        return Check("openat2", False, True, _why(err))
    os.close(fd)
    return Check("openat2", True, True,
                 "emulated opens resolve paths without following magic links")


def landlock_abi() -> tuple[int, int]:
    """(ABI version, errno): the version is 0 when Landlock is unavailable."""
    abi, err = _syscall(NR_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        LANDLOCK_CREATE_RULESET_VERSION)
    return max(abi, 0), err


def check_landlock() -> Check:
    abi, err = landlock_abi()
    if abi < 1:
        why = "built in but disabled at boot (add landlock to lsm=)" \
            if err == errno.EOPNOTSUPP else _why(err)
        return Check("landlock", False, True, f"{why}; the race-free floor under seccomp")
    have = [name for version, name in LANDLOCK_FEATURES if abi >= version]
    lacking = [name for version, name in LANDLOCK_FEATURES if abi < version]
    detail = f"ABI {abi}: files" + "".join(f", {name}" for name in have)
    if lacking:
        detail += f"; missing (seccomp covers them): {', '.join(lacking)}"
    return Check("landlock", True, True, detail)


def check_pid_namespace() -> Check:
    report = _in_child(_pidns_probe) or {"error": -1}
    err = report.get("error", -1)
    if err == 0 and report.get("pid1"):
        how = "as root" if os.geteuid() == 0 else "through a user namespace"
        return Check("pid namespace", True, False,
                     f"available {how}; lifetime: pid namespace (sandbox dies with jail)")
    why = _why(err) if err > 0 else "the probe could not start a process in it"
    return Check("pid namespace", False, False,
                 f"{why}; lifetime: fallback: subreaper + parent-death signal")


def check_ptrace_scope() -> Check:
    scope = read_sysctl("kernel.yama.ptrace_scope")
    why = "exec checks need it"
    if scope is None:
        return Check("ptrace", True, True, f"no Yama: jail may trace its children; {why}")
    if scope in ("0", "1"):
        return Check("ptrace", True, True, f"kernel.yama.ptrace_scope={scope}; {why}")
    if scope == "2" and os.geteuid() == 0:
        return Check("ptrace", True, True, f"kernel.yama.ptrace_scope=2, running as root; {why}")
    return Check("ptrace", False, True,
                 f"kernel.yama.ptrace_scope={scope} forbids it; {why}")


def check_io_uring() -> Check:
    value = read_sysctl("kernel.io_uring_disabled")
    state = {"0": "enabled", "1": "limited to a group", "2": "disabled"}.get(
        value or "", "no sysctl (kernel < 6.6)" if value is None else value)
    return Check("io_uring", True, False,
                 f"kernel.io_uring_disabled: {state}; denied inside (it bypasses seccomp)")


def check_tiocsti() -> Check:
    value = read_sysctl("dev.tty.legacy_tiocsti")
    state = {"0": "off", "1": "on"}.get(
        value or "", "no sysctl (kernel < 6.2: always on)" if value is None else value)
    return Check("tiocsti", True, False,
                 f"dev.tty.legacy_tiocsti: {state}; TIOCSTI/TIOCLINUX denied inside (keystroke "
                 "injection)")


def check_user_namespaces() -> Check:
    settings = {name: read_sysctl(name) for name in (
        "user.max_user_namespaces", "kernel.unprivileged_userns_clone",
        "kernel.apparmor_restrict_unprivileged_userns")}
    blocked = {"user.max_user_namespaces": "0", "kernel.unprivileged_userns_clone": "0",
               "kernel.apparmor_restrict_unprivileged_userns": "1"}
    ok = all(settings[name] != value for name, value in blocked.items())
    shown = ", ".join(f"{name}={value}" for name, value in settings.items() if value is not None)
    use = "not needed as root" if os.geteuid() == 0 else "used only to get a pid namespace"
    return Check("user namespaces", ok, False,
                 f"unprivileged {'allowed' if ok else 'restricted'} ({shown or 'no sysctls'}); {use}")


def probe_all() -> list[Check]:
    """Run every probe on this machine. Syscall probes need x86_64 numbers."""
    arch = check_architecture()
    checks = [arch, check_kernel()]
    if arch.ok:
        checks += check_seccomp()
        checks += check_pidfd()
        checks += [check_openat2(), check_landlock(), check_pid_namespace()]
    else:
        checks.append(Check("system calls", False, True, "not probed on this architecture"))
    checks += [check_ptrace_scope(), check_io_uring(), check_tiocsti(), check_user_namespaces()]
    return checks


# -- formatting ---------------------------------------------------------------------------


def ready(checks: list[Check]) -> bool:
    return all(check.ok for check in checks if check.required)


def status_word(check: Check) -> str:
    if check.ok:
        return "ok"
    return "MISSING" if check.required else "missing"


def format_checks(checks: list[Check]) -> str:
    """One line per check, then a verdict line."""
    width = max((len(check.name) for check in checks), default=0)
    lines = [f"{status_word(check):<8} {check.name:<{width}}  {check.detail}" for check in checks]
    missing = [check.name for check in checks if check.required and not check.ok]
    if missing:
        lines.append(f"jail cannot run here: required {', '.join(missing)} missing")
    else:
        lines.append("jail can run here")
    return "\n".join(lines)


def format_json(checks: list[Check]) -> str:
    return json.dumps({"ready": ready(checks),
                       "checks": [dataclasses.asdict(check) for check in checks]}, indent=2)
