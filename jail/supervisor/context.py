"""What every handler shares: the decoded request, the policy, the audit log,
the resolver, and the one place where a verdict is recorded before it takes
effect."""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
from dataclasses import dataclass

from jail import native
from jail.policy import Access, Action, FileEvent, Policy, Verdict
from jail.supervisor import procinfo
from jail.supervisor.resolve import CONTEXT_PREFIXES, Resolved, Resolver, SandboxView
from jail.syscalls import Arg, Syscall


@dataclass(frozen=True)
class Request:
    """One trapped syscall, decoded from registers only; memory is read by handlers."""

    id: int
    tid: int
    syscall: Syscall
    args: tuple[int, ...]

    def arg(self, role: Arg) -> int:
        return self.args[self.syscall.args.index(role)]

    def has(self, role: Arg) -> bool:
        return role in self.syscall.args

    def int_arg(self, role: Arg) -> int:
        """An `int` argument (fds, flags): the kernel uses the low 32 bits, signed."""
        value = self.arg(role) & 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value

    def string(self, role: Arg) -> str:
        return native.read_string(self.tid, self.arg(role))


def _tgid_of(tid: int) -> int:
    """The process a thread belongs to: the Tgid line near the top of its
    status file, without reading and decoding all of it (task_ids costs ~40 µs,
    paid by the first allowed open of every path)."""
    fd = os.open(f"/proc/{tid}/status", os.O_RDONLY | os.O_CLOEXEC)
    try:
        head = os.read(fd, 512)
    finally:
        os.close(fd)
    start = head.index(b"\nTgid:") + 6
    return int(head[start:head.index(b"\n", start)])


class Denied(Exception):
    """A policy denial: answer the syscall with errno after the record is written."""

    def __init__(self, verdict: Verdict, err: int = errno.EACCES) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict
        self.errno = err


class Vanished(Exception):
    """The request was withdrawn (signal, death, recycled tid): answer nothing."""


class Notices:
    """One line on jail's stderr per distinct denial, a few per rule, never a secret."""

    PER_RULE = 5

    def __init__(self, stream=None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._seen: set[tuple[str, str]] = set()
        self._per_rule: dict[str, int] = {}
        self._lock = threading.Lock()

    def tell(self, line: str) -> None:
        """A line for the person (approvals): always shown, even with -q."""
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def denied(self, access: str, target: str, verdict: Verdict, comm: str, pid: int) -> None:
        if not self.enabled:
            return
        rule = verdict.rule
        with self._lock:
            if (access, target) in self._seen:
                return
            self._seen.add((access, target))
            count = self._per_rule[rule.where] = self._per_rule.get(rule.where, 0) + 1
        if count > self.PER_RULE + 1:
            return
        if count == self.PER_RULE + 1:
            line = f"jail: more denials by {rule.where} are in the audit log (jail log --denied)"
        else:
            line = (f"jail: denied {access} of {target} by {comm} (pid {pid}): "
                    f"{rule.kind} \"{rule.pattern}\" at {rule.where}")
            if verdict.reason:
                line += f" ({verdict.reason})"
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


class Context:
    def __init__(self, listener: native.Listener, policy: Policy, audit, view: SandboxView,
                 notices: Notices) -> None:
        self.listener = listener
        self.policy = policy
        self.audit = audit
        self.view = view
        self.resolver = Resolver(view)
        self.notices = notices
        self.exec_gate = None  # set by the caller: jail.supervisor.execgate.ExecGate
        self.redactor = None   # set by the caller: jail.supervisor.redacted.Redactor
        self.writeback = None  # set by the caller: jail.supervisor.writeback.WriteBack
        # JAIL_FAST_PATH=0 leaves every decision to Python (for measuring; no less safe).
        self.fast = (native.FastPath(view.proc_devs, native.memfd_device())
                     if os.environ.get("JAIL_FAST_PATH", "1") != "0" else None)

    def remember_open(self, obj: Resolved, access: Access) -> None:
        """An open that was allowed, recorded and found clean: C may answer the
        same open of the same unchanged object at the same path from now on.
        Only what C resolves the way Python's fast path does: no procfs, no
        /dev, regular files and directories."""
        st = obj.st
        if self.fast is None or obj.fd < 0 or st is None or obj.foreign:
            return
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            return
        if st.st_dev in self.view.proc_devs or obj.path.startswith(CONTEXT_PREFIXES):
            return
        self.fast.remember(access.value, obj.path, st)

    def check(self, req: Request, access: Access, path: str, st=None, foreign: bool = False) -> Verdict:
        """Ask the policy, write the audit record, raise Denied on a denial.

        Every handler calls this after reading the target's memory and before
        any effect, so this is where the notification id is proven still valid.
        """
        if not self.listener.id_valid(req.id):
            raise Vanished
        inode = (st.st_dev, st.st_ino) if st is not None else None
        is_dir = bool(st is not None and (st.st_mode & 0o170000) == 0o040000)
        verdict = self.policy.decide_file(FileEvent(access, path, inode, is_dir, foreign))
        self.record(req, access, path, verdict)
        if verdict.action is not Action.ALLOW:
            raise Denied(verdict)
        return verdict

    def record(self, req: Request, access: Access, path: str, verdict: Verdict) -> None:
        allowed = verdict.action is Action.ALLOW
        # Allowed opens are recorded once per thread and path: decide that before
        # reading anything from /proc, which costs more than the rest of an open.
        if allowed and not self.audit.seen_once(("file", req.tid, access.value, path)):
            return
        try:
            pid = _tgid_of(req.tid)
        except (OSError, ValueError, KeyError):
            pid = req.tid
        chain = procinfo.chain(pid, self.view.shim_pid)
        rule = verdict.rule
        self.audit.record(
            event="file", pid=pid, tid=req.tid, chain=chain, exe=procinfo.exe_of(pid),
            syscall=req.syscall.name, access=access.value, target=path, verdict=verdict.action.value,
            rule=rule.where, pattern=rule.pattern, reason=verdict.reason,
            errno=None if allowed else "EACCES",
        )
        if not allowed:
            comm = chain[0]["comm"] if chain else "?"
            self.notices.denied(access.value, path, verdict, comm, pid)

    def record_redaction(self, req: Request, path: str, scanned) -> None:
        """Which rules hid what where: types and lines, never a value (invariant 7)."""
        findings = [{"rule": f.rule_id, "line": f.line} for f in scanned.findings]
        if self.audit.seen_once(("redact", req.tid, path, len(findings))):
            self.audit.record(event="redact", tid=req.tid, syscall=req.syscall.name, target=path,
                              verdict="redact", findings=findings)

    def record_unscanned(self, req: Request, path: str, why: str) -> None:
        """A file served without a scan (larger than redaction reads): said once per path."""
        if self.audit.seen_once(("unscanned", path)):
            self.audit.record(event="unscanned", tid=req.tid, syscall=req.syscall.name, target=path,
                              verdict="allow", reason=why)

    def record_error(self, req: Request, error: BaseException) -> None:
        """An internal error answered with a denial (fail closed)."""
        self.audit.record(event="error", tid=req.tid, syscall=req.syscall.name,
                          verdict="deny", errno="EACCES", reason=f"{type(error).__name__}: {error}")
