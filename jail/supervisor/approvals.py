"""Turn an `ask` verdict into a request a person answers.

The request goes to the session's broker; `jail approve` in another terminal
answers it over the session's socket (a directory the sandbox cannot reach).
If no one answers within the timeout, the fallback applies: deny by default.
Every request, answer, answerer and grant is written to the audit log.
"""

from __future__ import annotations

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
