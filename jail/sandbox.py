"""Start the sandbox and keep its lifetime tied to jail's.

The shape (native/jail_native.c does the work between clone and execve):

    jail ── shim (pid 1 of a new pid namespace, or a subreaper) ── agent
                                                                   └ execve(command)

jail blocks the signals it forwards before anything starts, so its worker
threads never take them, and waits for them with sigtimedwait: a signal from
the terminal already reached the agent (same process group) and is not
forwarded twice; one sent to jail with kill(1) is.
"""

from __future__ import annotations

import errno
import os
import signal
import struct
import threading
from dataclasses import dataclass, field

from jail import native
from jail._native import ffi, lib
from jail.errors import CannotExecute, CommandNotFound, SandboxError
from jail.landlock import LandlockPlan

FORWARDED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT, signal.SIGTSTP, signal.SIGALRM}
WAITED = FORWARDED | {signal.SIGCHLD}
SI_KERNEL = 0x80

# Python ignores these for itself; the command gets the defaults it would get from a shell.
_PYTHON_OWN_IGNORES = {signal.SIGPIPE, signal.SIGXFSZ}


@dataclass
class SandboxSpec:
    executable: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    bpf: bytes
    landlock: LandlockPlan | None
    namespaces: str  # "pid", "user+pid" or "none"
    uid: int = -1
    gid: int = -1
    groups: list[int] | None = None
    ctty_fd: int = -1  # a pty slave: the command's stdio and controlling terminal (jail.terminal)
    _keep: list = field(default_factory=list, repr=False)  # cffi buffers alive until spawn returns


def ignored_signal_mask() -> int:
    """Signals jail's own parent left ignored (nohup, `&`): the command inherits them."""
    mask = 0
    for sig in signal.valid_signals():
        if sig in _PYTHON_OWN_IGNORES or sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                mask |= 1 << (int(sig) - 1)
        except (ValueError, OSError):
            continue
    return mask


def choose_namespaces(env: dict[str, str] | None = None) -> str:
    """A pid namespace makes the sandbox die with jail; root has one, others try a user namespace.

    JAIL_NAMESPACES=none forces the fallback (subreaper + parent-death signal),
    which `jail doctor` describes; every rule is enforced the same either way.
    """
    wanted = (env or os.environ).get("JAIL_NAMESPACES", "auto")
    if wanted == "none":
        return "none"
    return "pid" if os.geteuid() == 0 else "user+pid"


def _owned(keep: list, cdata):
    """Keep a cffi allocation alive: a struct field holds only a raw pointer."""
    keep.append(cdata)
    return cdata


def _cstrings(keep: list, items: list[str]):
    arr = [_owned(keep, ffi.new("char[]", os.fsencode(s))) for s in items]
    return _owned(keep, ffi.new("char *[]", [*arr, ffi.NULL]))


class Sandbox:
    """A started sandbox: the shim's pid, the listener, the agent's exit status."""

    def __init__(self, spec: SandboxSpec) -> None:
        self.spec = spec
        self.namespaces = spec.namespaces
        self.shim_pid = 0
        self.agent_pid = 0  # in jail's pid namespace
        self.listener: native.Listener | None = None
        self._control = -1
        self._errpipe = -1
        self._exit_status: int | None = None
        self._exited = threading.Event()

    # -- start ---------------------------------------------------------------

    def spawn(self) -> native.Listener:
        """Start shim and agent; return the listener. The command runs once
        the caller answers the first trapped syscalls and calls confirm_exec()."""
        try:
            self._spawn(self.spec.namespaces)
        except OSError as error:
            if self.spec.namespaces != "none" and error.errno in (errno.EPERM, errno.EINVAL, errno.ENOSPC,
                                                                  errno.EACCES, errno.EUSERS):
                # No namespace to be had (a container, AppArmor's userns restriction,
                # or another sandbox around jail): every rule is still enforced; only
                # the lifetime mechanism changes (see `jail doctor`).
                self.namespaces = "none"
                self._spawn("none")
            else:
                raise SandboxError(f"cannot start the sandbox: {error.strerror}") from error
        return self.listener

    def _spawn(self, namespaces: str) -> None:
        spec, keep = self.spec, []
        cfg = ffi.new("struct jl_spawn_cfg *")
        res = ffi.new("struct jl_spawn_result *")
        cfg.path = _owned(keep, ffi.new("char[]", os.fsencode(spec.executable)))
        cfg.argv = _cstrings(keep, spec.argv)
        cfg.envp = _cstrings(keep, [f"{k}={v}" for k, v in spec.env.items()])
        cfg.cwd = _owned(keep, ffi.new("char[]", os.fsencode(spec.cwd)))
        cfg.bpf = _owned(keep, ffi.from_buffer(spec.bpf))
        cfg.bpf_len = len(spec.bpf) // 8
        cfg.use_pidns = int(namespaces in ("pid", "user+pid"))
        cfg.use_userns = int(namespaces == "user+pid")
        cfg.outer_uid, cfg.outer_gid = os.getuid(), os.getgid()
        cfg.uid, cfg.gid = spec.uid, spec.gid
        groups = spec.groups if spec.groups is not None else []
        cfg.ngroups = len(groups) if spec.groups is not None else -1
        cfg.groups = _owned(keep, ffi.new("uint32_t[]", groups or [0]))
        if spec.landlock:
            rules = _owned(keep, ffi.new("struct jl_ll_rule[]", max(1, len(spec.landlock.rules))))
            for i, (path, access) in enumerate(spec.landlock.rules):
                rules[i].path = _owned(keep, ffi.new("char[]", os.fsencode(path)))
                rules[i].access = access
            cfg.ll_handled_fs = spec.landlock.handled_fs
            cfg.ll_scoped = spec.landlock.scoped
            cfg.ll_abi = spec.landlock.abi
            cfg.ll_nrules = len(spec.landlock.rules)
            cfg.ll_rules = rules
        cfg.ignored_signals = ignored_signal_mask()
        cfg.ctty_fd = spec.ctty_fd

        rc = lib.jl_spawn(cfg, res)
        if rc < 0:
            raise OSError(-rc, os.strerror(-rc))
        self.shim_pid, self._control, self._errpipe = res.shim_pid, res.control, res.errpipe
        agent = ffi.new("int *")
        fd = lib.jl_recv_listener(self._control, agent)
        if fd < 0:
            self._reap_shim()
            self._raise_setup_error(fallback=f"the sandbox's init process failed ({os.strerror(-fd)})")
        self.listener = native.Listener(fd)
        self.agent_pid = self._host_pid_of_agent()
        threading.Thread(target=self._wait_exit, name="jail-exit", daemon=True).start()

    def _host_pid_of_agent(self) -> int:
        """The shim's only child is the agent; its pid as jail sees it."""
        try:
            with open(f"/proc/{self.shim_pid}/task/{self.shim_pid}/children") as f:
                return int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            return 0

    def confirm_exec(self) -> None:
        """Block until the command is executing, or raise why it could not start."""
        data = _read_all(self._errpipe)
        os.close(self._errpipe)
        self._errpipe = -1
        if data:
            self.wait_exit()
            stage, err = struct.unpack("ii", data[:8])
            self._raise_stage(stage, err)

    def _raise_setup_error(self, fallback: str) -> None:
        data = _read_all(self._errpipe)
        if len(data) >= 8:
            self._raise_stage(*struct.unpack("ii", data[:8]))
        raise SandboxError(fallback)

    def _raise_stage(self, stage: int, err: int) -> None:
        what = native.SETUP_STAGES.get(stage, f"set up (stage {stage})")
        reason = os.strerror(err)
        cmd = self.spec.argv[0]
        if stage == 9:
            if err == errno.ENOENT:
                raise CommandNotFound(f"{cmd}: command not found")
            raise CannotExecute(f"cannot execute {cmd}: {reason}")
        hint = None
        if stage == 7:
            hint = ("the kernel refused the filter (needs Linux >= 6.0 with seccomp user notification; "
                    "EBUSY/EPERM means another sandbox already supervises this process); "
                    "jail never runs a command unprotected")
        raise SandboxError(f"could not {what}: {reason}; {cmd} was not started", hint)

    # -- lifetime ------------------------------------------------------------

    def _wait_exit(self) -> None:
        status = ffi.new("int *")
        rc = lib.jl_recv_exit(self._control, status)
        self._exit_status = status[0] if rc == 0 else None
        self._exited.set()

    @property
    def exited(self) -> bool:
        return self._exited.is_set()

    def wait_exit(self) -> int | None:
        """The agent's raw wait status (None if the shim died without telling)."""
        self._exited.wait()
        self._reap_shim()
        return self._exit_status

    def _reap_shim(self) -> None:
        if self.shim_pid:
            try:
                os.waitpid(self.shim_pid, 0)
            except ChildProcessError:
                pass

    def forward(self, sig: int) -> None:
        """Pass a signal sent to jail on to the command (through the shim)."""
        try:
            os.kill(self.shim_pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Tear the whole sandbox down."""
        if not self.shim_pid:
            return
        try:
            # pid 1 of a namespace takes every member with it; the subreaper
            # shim kills its descendants on its death signal.
            os.kill(self.shim_pid, signal.SIGKILL if self.namespaces != "none" else signal.SIGRTMAX)
        except ProcessLookupError:
            pass


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 64)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def exit_code_of(status: int | None) -> int:
    """The command's status as a shell reports it: its code, or 128+signal."""
    if status is None:
        return 125
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
