"""How exec rules combine across layers, loader variables, and the Policy entry point."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jail.exec_policy import EXEC_DEFAULT, LOADER_RULE, ExecEvent, ExecPolicy, injected
from jail.policy import Action, Policy, PolicyContext
from jail.profile import merge, parse_text

pytestmark = pytest.mark.unit

HOME, WS = Path("/home/user"), Path("/home/user/project")
CTX = PolicyContext(home=HOME, state_dir=HOME / ".local/state/jail", config_dir=HOME / ".config/jail")


def policy(*layers: str) -> Policy:
    files = [parse_text(textwrap.dedent(text), f"layer{index}.toml")
             for index, text in enumerate(layers)]
    return Policy.from_profile(merge(files, WS), CTX)


def run(p: Policy, *argv: str, env: dict[str, str] | None = None, exe: str | None = None):
    exe = exe or "/usr/bin/" + argv[0].rsplit("/", 1)[-1]
    return p.decide_exec(ExecEvent(exe, tuple(argv), str(WS), str(WS), env or {}))


BASE = """
[exec]
ask = [{ command = "terraform destroy *", reason = "base says ask" }, "git push --force *"]
deny = [{ command = "mkfs*", reason = "never" }]
"""


def test_ask_deny_and_the_default() -> None:
    p = policy(BASE)
    verdict = run(p, "terraform", "destroy")
    assert verdict.action is Action.ASK and verdict.reason == "base says ask"
    assert verdict.rule.where == "layer0.toml:3" and verdict.rule.kind == "exec.ask"
    assert run(p, "mkfs.ext4", "disk.img").action is Action.DENY
    default = run(p, "ls", "-la")
    assert default.action is Action.ALLOW and default.rule == EXEC_DEFAULT
    assert not run(p, "terraform", "destroy").allowed


def test_a_later_allow_outweighs_an_earlier_ask() -> None:
    p = policy(BASE, '[exec]\nallow = ["terraform destroy -target=module.scratch *"]\n')
    verdict = run(p, "terraform", "destroy", "-target=module.scratch")
    assert verdict.action is Action.ALLOW and verdict.rule.where == "layer1.toml:2"
    assert "over \"terraform destroy *\" (layer0.toml:3)" in verdict.reason
    # not what the allow names
    assert run(p, "terraform", "destroy").action is Action.ASK
    assert run(p, "terraform", "destroy", "-target=module.scratch", "-target=module.db").action \
        is Action.ASK


def test_an_allow_in_the_same_layer_outweighs_an_ask() -> None:
    p = policy('[exec]\nask = ["kubectl delete *"]\nallow = ["kubectl delete pod test-*"]\n')
    assert run(p, "kubectl", "delete", "pod", "test-1").action is Action.ALLOW
    assert run(p, "kubectl", "delete", "pod", "test-1", "prod-db").action is Action.ASK


def test_an_earlier_allow_does_not_outweigh_a_later_ask() -> None:
    p = policy('[exec]\nallow = ["terraform destroy *"]\n', BASE)
    verdict = run(p, "terraform", "destroy")
    assert verdict.action is Action.ASK and verdict.rule.source == "layer1.toml"


def test_deny_beats_everything_whatever_the_layer() -> None:
    p = policy(BASE, '[exec]\nallow = ["mkfs.ext4 *"]\n')
    verdict = run(p, "mkfs.ext4", "disk.img")
    assert verdict.action is Action.DENY and verdict.reason == "never"


def test_an_allow_must_name_the_options_of_the_ask_it_outweighs() -> None:
    p = policy(BASE, '[exec]\nallow = ["git push origin main", "git push -f origin feature-*"]\n')
    assert run(p, "git", "push", "--force", "origin", "main").action is Action.ASK
    assert run(p, "git", "push", "origin", "main").action is Action.ALLOW
    assert run(p, "git", "push", "--force", "origin", "feature-x").action is Action.ALLOW


def test_an_allow_covers_only_the_command_it_matches() -> None:
    p = policy(BASE, '[exec]\nallow = ["terraform destroy *", "bash *"]\n')
    assert run(p, "terraform", "destroy").action is Action.ALLOW
    # bash is allowed, but the git push inside it still asks
    verdict = run(p, "bash", "-c", "terraform destroy && git push --force")
    assert verdict.action is Action.ASK and verdict.rule.pattern == "git push --force *"


def test_the_latest_layer_names_the_decision() -> None:
    p = policy(BASE, '[exec]\nask = [{ command = "terraform destroy *", reason = "prod!" }]\n')
    assert run(p, "terraform", "destroy").reason == "prod!"


def test_conditions_and_reasons_say_what_was_found() -> None:
    p = policy('[exec]\nask = [{ command = "psql *", when = "destructive-sql", reason = "SQL" }]\n')
    assert run(p, "psql", "-c", "DROP TABLE users").reason == "SQL (DROP TABLE)"
    assert run(p, "psql", "-c", "SELECT 1").action is Action.ALLOW
    inner = run(p, "bash", "-c", "cd db && psql -c 'truncate t'")
    assert inner.reason == "SQL (TRUNCATE) — psql -c 'truncate t' [bash -c, command 2]"


@pytest.mark.parametrize(("env", "denied"), [
    ({"LD_PRELOAD": "/tmp/evil.so"}, True),
    ({"LD_AUDIT": "/tmp/a.so"}, True),
    ({"GCONV_PATH": "/tmp/g"}, True),
    ({"NODE_OPTIONS": "--require /tmp/x.js"}, True),
    ({"NODE_OPTIONS": "-r ./hook"}, True),
    ({"PERL5OPT": "-MEvil"}, True),
    ({"RUBYOPT": "-revil"}, True),
    ({"LD_PRELOAD": ""}, False),
    ({"LD_LIBRARY_PATH": "/opt/cuda/lib64"}, False),
    ({"NODE_OPTIONS": "--max-old-space-size=4096"}, False),
])
def test_loader_variables_on_a_gated_tool_are_denied(env: dict[str, str], denied: bool) -> None:
    p = policy(BASE, '[exec]\nallow = ["git push --force origin scratch"]\n')
    gated = run(p, "terraform", "destroy", env=env)
    assert (gated.action is Action.DENY) is denied
    if denied:
        assert gated.rule == LOADER_RULE
        assert gated.reason.startswith("loader variables on a gated tool: ")
        assert "layer0.toml:3" in gated.reason
        # even where an allow outweighs the ask: the approved program must run as approved
        assert run(p, "git", "push", "--force", "origin", "scratch", env=env).action is Action.DENY
    # a program no rule gates runs with whatever it likes
    assert run(p, "ls", env=env).action is Action.ALLOW


def test_loader_variables_set_by_wrappers_and_ld_so_count() -> None:
    p = policy(BASE)
    assert run(p, "env", "LD_PRELOAD=/x.so", "terraform", "destroy").rule == LOADER_RULE
    assert run(p, "bash", "-c", "LD_AUDIT=/a.so terraform destroy").rule == LOADER_RULE
    ld = ["/lib64/ld-linux-x86-64.so.2", "--preload", "/x.so", "/usr/bin/terraform", "destroy"]
    assert run(p, *ld, exe="/usr/lib/ld-linux-x86-64.so.2").rule == LOADER_RULE
    plain = ["/lib64/ld-linux-x86-64.so.2", "/usr/bin/terraform", "destroy"]
    assert run(p, *plain, exe="/usr/lib/ld-linux-x86-64.so.2").action is Action.ASK
    assert injected([("LD_PRELOAD", "x"), ("LD_LIBRARY_PATH", "y")]) == ["LD_PRELOAD"]


def test_decisions_are_cached_per_event() -> None:
    exec_policy = policy(BASE).exec_policy
    event = ExecEvent("/usr/bin/git", ("git", "status"), str(WS), str(WS), {})
    first = exec_policy.explain(event)
    assert exec_policy.explain(ExecEvent("/usr/bin/git", ["git", "status"], str(WS), str(WS))) is first
    assert exec_policy._explain.cache_info().hits == 1


def test_no_exec_rules_allows_everything() -> None:
    p = policy('[files]\ndeny = ["~/.ssh"]\n')
    assert run(p, "terraform", "destroy").rule == EXEC_DEFAULT
    assert isinstance(p.exec_policy, ExecPolicy)


def test_rm_outside_uses_the_profiles_writable_places() -> None:
    p = policy('[workspace]\nwritable = [".", "/tmp", "~/.cache", "~"]\n'
               '[exec]\nask = [{ command = "rm -r *", when = "outside-workspace" }]\n')
    assert run(p, "rm", "-rf", "/tmp/build").action is Action.ALLOW
    assert run(p, "rm", "-rf", "/home/user/.cache/pip").action is Action.ALLOW
    assert run(p, "rm", "-rf", "build").action is Action.ALLOW
    # the home directory never counts as a safe place, even when it is writable
    assert run(p, "rm", "-rf", "/home/user/Pictures").action is Action.ASK
    assert run(p, "rm", "-rf", "/tmp").action is Action.ASK  # a writable place itself
    assert run(p, "rm", "-rf", str(WS)).action is Action.ASK  # the whole project
    assert run(p, "rm", "-rf", "..").action is Action.ASK
