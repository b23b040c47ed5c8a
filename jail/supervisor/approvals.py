"""Turn an `ask` verdict into a request a person answers.

The request goes to the session's broker; `jail approve` in another terminal
answers it over the session's socket (a directory the sandbox cannot reach).
If no one answers within the timeout, the fallback applies: deny by default.
Every request, answer, answerer and grant is written to the audit log.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable

from jail.approve.broker import Broker
from jail.approve.request import Answer, ApprovalRequest
from jail.policy import Verdict
from jail.supervisor import procinfo
from jail.supervisor.context import Context
from jail.supervisor.execgate import ExecFacts, script_view


def exec_asker(ctx: Context, broker: Broker, session: str, agent: list[str],
               tell: Callable[[str], None]) -> Callable[[ExecFacts, Verdict], bool]:
    def ask(facts: ExecFacts, verdict: Verdict) -> bool:
        chain = procinfo.chain(facts.pid, ctx.view.shim_pid) or [{"pid": facts.pid, "comm": "?"}]
        request = ApprovalRequest(
            id=secrets.token_hex(4), session=session, kind="exec", agent=agent, pid=facts.pid, chain=chain,
            exe=facts.exe, argv=facts.argv, cwd=facts.cwd, target=_script(facts),
            rule_where=verdict.rule.where, rule_pattern=verdict.rule.pattern, reason=verdict.reason,
            created=time.time(),
        )
        ctx.audit.record(event="approval-request", request=request.to_json())
        tell(f"jail: waiting for approval of `{' '.join(facts.argv)[:120]}` ({verdict.rule.where}: "
             f"{verdict.reason}); answer with `jail approve` in another terminal, request {request.id}")
        decision = broker.ask(request)
        ctx.audit.record(event="approval-answer", request_id=request.id, decision=decision.to_json())
        if decision.allowed:
            what = " ".join(facts.argv)[:120]
            tell(f"jail: allowed ({decision.answer.value}) by {decision.answerer}: {what}")
        else:
            tell(f"jail: denied by {decision.answerer}: {' '.join(facts.argv)[:120]}")
        return decision.allowed and decision.answer is not Answer.DENY
    return ask


def _script(facts: ExecFacts) -> str:
    """A #! script the kernel runs through its interpreter: the rules know the
    command by the script's name, and so does an "always" rule."""
    view = script_view(facts)
    return view[0] if view != facts.argv else ""


ConnectAsk = Callable[[str, Verdict, "int | None", "list[str] | None"], bool]


def connect_asker(ctx: Context, broker: Broker, session: str, agent: list[str],
                  tell: Callable[[str], None]) -> ConnectAsk:
    """Asks for connections: from a process in the sandbox (pid known) or from
    jail's proxy (pid None: loopback TCP names no peer process; `detail` is the
    method and URL of a plain-HTTP request)."""
    def ask(target: str, verdict: Verdict, pid: int | None, detail: list[str] | None) -> bool:
        if pid is not None:
            chain = procinfo.chain(pid, ctx.view.shim_pid) or [{"pid": pid, "comm": "?"}]
            exe, argv, cwd = procinfo.exe_of(pid), _argv_of(pid), _cwd_of(pid)
        else:
            chain, exe, argv, cwd = [], "(via jail's proxy)", detail or [], ""
        request = ApprovalRequest(
            id=secrets.token_hex(4), session=session, kind="connect", agent=agent, pid=pid or 0, chain=chain,
            exe=exe, argv=argv, cwd=cwd, target=target, rule_where=verdict.rule.where,
            rule_pattern=verdict.rule.pattern, reason=verdict.reason, created=time.time(),
        )
        ctx.audit.record(event="approval-request", request=request.to_json())
        what = f"connection to {target}" + (f" ({' '.join(detail)[:100]})" if detail else "")
        tell(f"jail: waiting for approval of a {what} ({verdict.rule.where}: {verdict.reason}); "
             f"answer with `jail approve` in another terminal, request {request.id}")
        decision = broker.ask(request)
        ctx.audit.record(event="approval-answer", request_id=request.id, decision=decision.to_json())
        allowed = decision.allowed and decision.answer is not Answer.DENY
        tell(f"jail: {'allowed' if allowed else 'denied'} by {decision.answerer}: {what}")
        return allowed
    return ask


def _argv_of(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [os.fsdecode(part) for part in f.read().split(b"\0")[:-1]][:64]
    except OSError:
        return []


def _cwd_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""
