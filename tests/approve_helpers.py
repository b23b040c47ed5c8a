"""Shared by the approval tests (unit and tui): a request factory, a clock the
test moves by hand, and a bounded wait for another thread."""

from __future__ import annotations

import time

from jail.approve.request import ApprovalRequest

SHORT = dict(id="r1", session="s1", kind="exec", agent=["claude"], pid=42,
             chain=[{"pid": 42, "comm": "terraform"}, {"pid": 7, "comm": "claude"}],
             exe="/usr/bin/terraform", argv=["terraform", "destroy"], cwd="/work", target="",
             rule_where="destructive.toml:42", rule_pattern="terraform destroy *",
             reason="destroys infrastructure", created=1000.0)

# What a prompt must fit at 80x24: a long argv, a deep chain, a long cwd.
REALISTIC = dict(
    id="r1", session="s1", kind="exec", agent=["claude", "--resume"], pid=4242,
    chain=[{"pid": 4242, "comm": "terraform"}, {"pid": 4200, "comm": "bash"},
           {"pid": 4100, "comm": "claude"}],
    exe="/usr/local/bin/terraform",
    argv=["terraform", "destroy", "-auto-approve", "-var-file=production.tfvars",
          "-target=module.database.aws_db_instance.main", "-lock-timeout=300s"],
    cwd="/home/alice/src/infra/production", target="",
    rule_where="profiles/destructive.toml:42", rule_pattern="terraform destroy *",
    reason="destroys every resource this configuration manages", created=1000.0)


def make_request(base: dict | None = None, **changes) -> ApprovalRequest:
    return ApprovalRequest(**{**(base or SHORT), **changes})


class FakeClock:
    """Monotonic seconds that move only when the test sets `now`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(condition, timeout: float = 5.0) -> None:
    """Poll `condition` (another thread's progress) with a deadline that only fails the test."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition never became true"
        time.sleep(0.002)
