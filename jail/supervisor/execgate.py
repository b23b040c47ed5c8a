"""The exec gate: every execve is verified at the ptrace exec event.

Exec cannot be emulated, and the argv a supervisor reads from the agent's
memory at the execve notification can be rewritten by another thread before
the kernel copies it. So the notification only seizes the exec'ing thread
(PTRACE_SEIZE with TRACEEXEC and EXITKILL, then PTRACE_INTERRUPT) and lets
the kernel continue; at PTRACE_EVENT_EXEC the new image is mapped but has run
no instruction, no other task shares its memory, and /proc/PID/exe, cmdline
and environ describe exactly what will run. That is what is decided on: the
image is released (detach) or killed before its first instruction.

A prompt is held at the exec event, not at the notification: node/libuv and
Rust spawns block the parent until the child's exec completes, and at the
event the parent has already been released while the child stays frozen.

Only the tracer thread may issue ptrace requests, so one thread owns them
all; workers and approval threads talk to it through a queue and an eventfd,
and it learns of tracee stops from a signalfd for SIGCHLD.
"""

from __future__ import annotations

import collections
import ctypes
import errno
import os
import select
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ptrace.binding.func import PtraceError, ptrace

from jail import native
from jail.policy import Action, Verdict
from jail.profile.model import Rule
from jail.supervisor import procinfo
from jail.supervisor.context import Context, Request

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_DETACH = 17
PTRACE_GETEVENTMSG = 0x4201
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_EXITKILL = 0x100000
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_STOP = 128
WALL = 0x40000000
WNOTHREAD = 0x20000000

LOADER_VARIABLES = ("LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "GCONV_PATH", "BASH_ENV", "ENV",
                    "PYTHONSTARTUP", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT")

ASK = getattr(Action, "ASK", "ask")  # a verdict that waits for a person

SCRUB_RULE = Rule(kind="jail.env_scrub", pattern="passthrough variables", source="<jail>", line=0,
                  reason="the agent's own key could not be removed from this program's environment")
MEMFD_RULE = Rule(kind="jail.exec_image", pattern="memfd or deleted executable", source="<jail>", line=0,
                  reason="code that is not a file on disk cannot be checked by name")


@dataclass(frozen=True)
class ExecFacts:
    """What the kernel is about to run, read at the exec event (not racy)."""

    pid: int
    exe: str
    argv: tuple[str, ...]
    cwd: str
    env: dict[str, str]

    @property
    def unnamed_image(self) -> bool:
        return self.exe.startswith("/memfd:") or self.exe.endswith(" (deleted)") or not self.exe


def read_facts(pid: int) -> ExecFacts:
    exe = procinfo.exe_of(pid)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = tuple(a.decode("utf-8", "surrogateescape") for a in f.read().split(b"\0")[:-1])
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = {}
        for item in f.read().split(b"\0"):
            key, sep, value = item.decode("utf-8", "surrogateescape").partition("=")
            if sep and key in LOADER_VARIABLES:
                env[key] = value
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    return ExecFacts(pid, exe, argv, cwd, env)


Decide = Callable[[ExecFacts], Verdict]
Ask = Callable[[ExecFacts, Verdict], bool]  # blocks until a person (or the fallback) answers


def script_view(facts: ExecFacts) -> tuple[str, ...]:
    """The argv as the caller wrote it when the kernel ran a #! script.

    For `./terraform destroy` where terraform is a script, the kernel execs the
    interpreter with argv [interpreter, (its argument,) script path, destroy]:
    the name the rules know is the script's. Walk past the interpreter words to
    the first argument that is a file starting with #!.
    """
    for i, arg in enumerate(facts.argv[1:3], start=1):
        path = arg if arg.startswith("/") else os.path.join(facts.cwd, arg)
        try:
            with open(path, "rb") as f:
                if f.read(2) == b"#!":
                    return facts.argv[i:]
        except OSError:
            continue
    return facts.argv


# Wrappers that run the inner command by exec'ing it here: a rule that matched
# only through them is decided at that inner exec, which the gate sees too.
# (ssh, kubectl exec and the like run it elsewhere: they are decided here.)
LOCAL_REEXEC = frozenset({
    "env", "sudo", "doas", "nice", "nohup", "timeout", "xargs", "stdbuf", "ionice", "setsid", "taskset",
    "chrt", "time", "command", "exec", "flock", "unbuffer", "chronic", "caffeinate", "systemd-run",
})


LOADER_KIND = "jail.exec_loader"  # loader variables on a gated tool: decided where they are set


def _runs_again_here(via: tuple[str, ...]) -> bool:
    """True if every step from this exec to the matched command is a local re-exec."""
    if not via:
        return False
    for step in via:
        head = step.split(",")[0].split()
        if not (step.endswith(" -c") or ", command " in step or (head and head[0] in LOCAL_REEXEC)):
            return False
    return True


def policy_decider(policy, workspace: str) -> Decide:
    """The profile's exec rules, when this policy has them; otherwise every
    named image runs (the gate still records each exec and refuses unnamed ones)."""
    decide_exec = getattr(policy, "decide_exec", None)
    if decide_exec is not None:
        from jail.exec_policy import ExecEvent

        def decide(facts: ExecFacts) -> Verdict:
            event = ExecEvent(exe=facts.exe, argv=facts.argv, cwd=facts.cwd, workspace=workspace,
                              env=facts.env)
            decision = policy.explain_exec(event)
            verdict = decision.verdict
            deferred = (verdict.action is not Action.ALLOW and verdict.rule.kind != LOADER_KIND
                        and decision.invocation is not None and _runs_again_here(decision.invocation.via))
            if deferred:
                # The final exec is the authority: `bash -c 'make; terraform destroy'`
                # runs make, and only terraform waits for a person.
                verdict = Verdict(Action.ALLOW, verdict.rule, f"decided at the inner exec: {verdict.reason}")
            script_argv = script_view(facts)
            if verdict.action is Action.ALLOW and script_argv != facts.argv:
                verdict = decide_exec(ExecEvent(exe=script_argv[0], argv=script_argv, cwd=facts.cwd,
                                                workspace=workspace, env=facts.env))
            return verdict
        return decide
    allow = Verdict(Action.ALLOW, Rule(kind="jail.exec_default", pattern="*", source="<jail>", line=0,
                                       reason="no exec rules in this profile"), "no exec rules")
    return lambda facts: allow


class ExecGate:
    def __init__(self, ctx: Context, decide: Decide, ask: Ask | None = None) -> None:
        self.ctx = ctx
        self.decide = decide
        self.ask = ask
        self._queue: collections.deque = collections.deque()
        self._wake = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._sigchld = native.signalfd_sigchld()
        self._pending: dict[int, Request] = {}  # tid seized -> its execve notification
        self._thread = threading.Thread(target=self._run, name="jail-exec-gate", daemon=True)
        self.failure: BaseException | None = None
        self.env_scrubber = None  # set by the caller: jail.supervisor.envscrub.EnvScrubber

    def start(self) -> None:
        self._thread.start()

    # -- called from other threads -------------------------------------------

    def submit(self, req: Request) -> None:
        """A worker received an execve notification: hand it to the tracer thread."""
        self._post(("seize", req))

    def _post(self, item: tuple) -> None:
        self._queue.append(item)
        os.eventfd_write(self._wake, 1)

    # -- the tracer thread ---------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._wake, self._sigchld], [], [])
                if self._wake in ready:
                    os.eventfd_read(self._wake)
                    while self._queue:
                        self._do(self._queue.popleft())
                if self._sigchld in ready:
                    while True:
                        try:
                            os.read(self._sigchld, 128 * 8)
                        except BlockingIOError:
                            break
                    self._reap()
        except BaseException as error:  # the gate itself broke: the supervisor fails closed
            self.failure = error

    def _do(self, item: tuple) -> None:
        kind = item[0]
        if kind == "seize":
            self._seize(item[1])
        elif kind == "release":
            _, pid, allow = item
            self._release(pid, allow)

    def _seize(self, req: Request) -> None:
        try:
            ptrace(PTRACE_SEIZE, req.tid, 0, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)
            ptrace(PTRACE_INTERRUPT, req.tid)
        except PtraceError as error:
            # Cannot watch this exec: it does not run (fail closed).
            self.ctx.record_error(req, error)
            self.ctx.listener.respond(req.id, error=errno.EPERM)
            return
        if not self.ctx.listener.id_valid(req.id):
            self._detach(req.tid)
            return
        self._pending[req.tid] = req
        if not self.ctx.listener.let_kernel_continue(req.id):
            self._pending.pop(req.tid, None)
            self._detach(req.tid)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG | WALL | WNOTHREAD)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if os.WIFSTOPPED(status):
                self._stopped(pid, status)
            else:  # exited or killed while we watched
                self._pending.pop(pid, None)

    def _stopped(self, pid: int, status: int) -> None:
        event = status >> 16
        if event == PTRACE_EVENT_EXEC:
            old_tid = _event_msg(pid)
            req = self._pending.pop(old_tid, None) or self._pending.pop(pid, None)
            self._at_exec(pid, req)
        elif event == PTRACE_EVENT_STOP:
            self._pending.pop(pid, None)  # the exec failed; the caller sees its errno
            self._detach(pid)
        else:
            # A signal arrived while we watched: hand it back as we let go.
            self._pending.pop(pid, None)
            self._detach(pid, os.WSTOPSIG(status))

    def _at_exec(self, pid: int, req: Request | None) -> None:
        try:
            facts = read_facts(pid)
        except OSError:
            self._release(pid, allow=False)
            return
        verdict = self._verdict(facts)
        scrubbed = self._scrub(pid, facts)
        if scrubbed is None:  # cannot scrub: the key must not leak, so the program does not run
            verdict = Verdict(Action.DENY, SCRUB_RULE, SCRUB_RULE.reason or "")
            scrubbed = []
        self._record(req, facts, verdict, answer=None, scrubbed=scrubbed)
        if verdict.action is Action.ALLOW:
            self._release(pid, allow=True)
        elif verdict.action is not ASK or self.ask is None:
            self._release(pid, allow=False)
        else:
            # The image stays frozen at its exec event while a person decides;
            # the spawning parent and every other process keep running.
            threading.Thread(target=self._ask, args=(req, facts, verdict), daemon=True).start()

    def _scrub(self, pid: int, facts: ExecFacts) -> list[str] | None:
        """Passthrough variables (the agent's API key) out of programs that are not
        the agent; None if that failed."""
        if self.env_scrubber is None:
            return []
        try:
            return self.env_scrubber.at_exec(pid, facts.exe)
        except (OSError, ValueError, IndexError):
            return None

    def _verdict(self, facts: ExecFacts) -> Verdict:
        if facts.unnamed_image:
            return Verdict(Action.DENY, MEMFD_RULE, MEMFD_RULE.reason or "")
        return self.decide(facts)

    def _ask(self, req: Request | None, facts: ExecFacts, verdict: Verdict) -> None:
        try:
            allowed = bool(self.ask(facts, verdict))
        except Exception:  # an approval that breaks is a denial
            allowed = False
        self._post(("release", facts.pid, allowed))

    def _release(self, pid: int, allow: bool) -> None:
        if allow:
            self._detach(pid)
        else:
            try:
                os.kill(pid, signal.SIGKILL)  # before its first instruction
            except ProcessLookupError:
                pass

    def _detach(self, pid: int, sig: int = 0) -> None:
        try:
            ptrace(PTRACE_DETACH, pid, 0, sig)
        except PtraceError:
            pass

    def _record(self, req: Request | None, facts: ExecFacts, verdict: Verdict, answer: str | None,
                scrubbed: list[str] = ()) -> None:
        rule = verdict.rule
        self.ctx.audit.record(
            event="exec", pid=facts.pid, tid=req.tid if req else facts.pid,
            chain=procinfo.chain(facts.pid, self.ctx.view.shim_pid), exe=facts.exe, argv=list(facts.argv),
            cwd=facts.cwd, loader_env=sorted(facts.env), syscall=req.syscall.name if req else "execve",
            verdict=verdict.action.value, rule=rule.where, pattern=rule.pattern, reason=verdict.reason,
            **({"env_scrubbed": list(scrubbed)} if scrubbed else {}),
        )
        if verdict.action is Action.DENY or (verdict.action is ASK and self.ask is None):
            why = verdict.reason if verdict.action is Action.DENY else "needs approval and no one can answer"
            self.ctx.notices.denied("exec", " ".join(facts.argv)[:200], Verdict(Action.DENY, rule, why),
                                    os.path.basename(facts.exe), facts.pid)


def _event_msg(pid: int) -> int:
    """PTRACE_GETEVENTMSG: at an exec event, the tid that called execve."""
    msg = ctypes.c_ulong(0)
    ptrace(PTRACE_GETEVENTMSG, pid, 0, ctypes.addressof(msg))
    return msg.value
