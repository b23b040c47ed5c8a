"""How [network] rules combine across profile layers. Pure."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jail.errors import ProfileError
from jail.network.policy import NetworkPolicy, jail_rule
from jail.network.rules import Destination
from jail.policy import Action
from jail.profile.loader import load_profile, merge
from jail.profile.schema import parse_text

pytestmark = pytest.mark.unit

HOME, WORKSPACE = Path("/home/user"), Path("/home/user/project")


def policy(*layers: str, implicit=()) -> NetworkPolicy:
    files = [parse_text(textwrap.dedent(text), f"layer{i}.toml") for i, text in enumerate(layers)]
    return NetworkPolicy(merge(files, WORKSPACE).network, home=HOME, workspace=WORKSPACE, implicit=implicit)


def action(pol: NetworkPolicy, **dest) -> str:
    return pol.decide(Destination(**dest)).action.value


def test_deny_wins_over_allow_in_any_later_layer() -> None:
    pol = policy('[network]\ndeny = ["169.254.169.254"]\n',
                 '[network]\nallow = ["*", "169.254.169.254:80"]\n')
    assert action(pol, address="169.254.169.254", port=80) == "deny"
    assert action(pol, address="1.2.3.4", port=80) == "allow"


def test_an_allow_lifts_an_ask_of_its_own_or_an_earlier_layer_only() -> None:
    same = policy('[network]\nask = ["*"]\nallow = ["github.com:443"]\n')
    assert action(same, host="github.com", port=443) == "allow"
    assert action(same, host="gitlab.com", port=443) == "ask"
    later_ask = policy('[network]\nallow = ["github.com:443"]\n', '[network]\nask = ["*.com"]\n')
    assert action(later_ask, host="github.com", port=443) == "ask"
    later_allow = policy('[network]\nask = ["*.com"]\n', '[network]\nallow = ["github.com"]\n')
    assert action(later_allow, host="github.com", port=443) == "allow"


def test_default_is_the_strictest_any_layer_set() -> None:
    assert action(policy('[network]\ndefault = "ask"\n', '[network]\ndefault = "allow"\n'),
                  address="1.2.3.4", port=1) == "ask"
    strict = policy('[network]\ndefault = "ask"\n', '[network]\ndefault = "deny"\n')
    verdict = strict.decide(Destination(address="1.2.3.4", port=1))
    assert verdict.action is Action.DENY and verdict.rule.where == "layer1.toml:2"
    assert action(policy(""), address="1.2.3.4", port=1) == "ask"  # nobody said: ask


def test_every_verdict_names_its_rule_with_file_and_line() -> None:
    pol = policy('[network]\nallow = [\n  "x.com",\n  { host = "y.com:443", reason = "Y API" },\n]\n')
    verdict = pol.decide(Destination(host="y.com", port=443))
    assert verdict.rule.where == "layer0.toml:4" and verdict.reason == "Y API"
    assert pol.decide(Destination(host="x.com", port=1)).rule.where == "layer0.toml:3"


def test_unix_rules_match_the_socket_path_and_others_are_left_to_the_file_rules() -> None:
    pol = policy('[network]\ndeny = [{ unix = "/run/user/*/bus" }, { unix = "**/S.gpg-agent*" }]\n'
                 'allow = [{ unix = "~/sock/**" }]\n')
    assert action(pol, unix="/run/user/1000/bus", transport="unix") == "deny"
    assert action(pol, unix="/home/user/.gnupg/S.gpg-agent.ssh", transport="unix") == "deny"
    assert action(pol, unix="/home/user/sock/a", transport="unix") == "allow"
    unnamed = pol.decide(Destination(unix="/tmp/.X11-unix/X0", transport="unix"))
    assert unnamed.action is Action.ALLOW and unnamed.rule.kind == "jail.net_unix_default"


def test_jail_own_rules_come_first() -> None:
    proxy = jail_rule("127.0.0.1:3128", "jail's proxy")
    pol = policy('[network]\ndeny = ["127.0.0.0/8"]\n', implicit=[proxy])
    assert action(pol, address="127.0.0.1", port=3128) == "allow"
    assert action(pol, address="127.0.0.1", port=3129) == "deny"
    more = pol.with_implicit([jail_rule("10.0.0.53:53", "DNS")])
    assert action(more, address="10.0.0.53", port=53) == "allow"
    assert action(more, address="127.0.0.1", port=3128) == "allow"


def test_the_builtin_default_profile() -> None:
    loaded = load_profile(cwd=Path("/"), home=HOME, env={}, profile="default")
    pol = NetworkPolicy(loaded.profile.network, home=HOME, workspace=WORKSPACE)
    assert action(pol, address="127.0.0.1", port=5432) == "allow"
    assert action(pol, address="::1", port=5432) == "allow"
    assert action(pol, address="169.254.169.254", port=80) == "deny"
    assert action(pol, address="fd00:ec2::254", port=80) == "deny"
    assert action(pol, host="metadata.google.internal", port=80) == "deny"
    assert action(pol, address="93.184.216.34", port=443) == "ask"
    for sock in ("/run/docker.sock", "/run/containerd/containerd.sock", "/tmp/ssh-abc/agent.99",
                 "/run/user/1000/bus", "/run/user/1000/gnupg/S.gpg-agent"):
        assert action(pol, unix=sock, transport="unix") == "deny", sock
    strict = load_profile(cwd=Path("/"), home=HOME, env={}, profile="strict")
    assert action(NetworkPolicy(strict.profile.network, home=HOME, workspace=WORKSPACE),
                  address="93.184.216.34", port=443) == "deny"


@pytest.mark.parametrize(("text", "message"), [
    ('[network]\ndefault = "yes"\n', 'must be one of "allow", "ask", "deny"'),
    ('[network]\nallow = "github.com"\n', "must be an array of destinations"),
    ('[network]\nallow = [1]\n', "must be a destination"),
    ('[network]\nallow = [{ reason = "x" }]\n', 'exactly one of "host" or "unix"'),
    ('[network]\nallow = [{ host = "a.com", unix = "/x" }]\n', 'exactly one of "host" or "unix"'),
    ('[network]\ndeny = [{ unix = "docker.sock" }]\n', "absolute path glob"),
    ('[network]\ndeny = [{ host = "a.com", match = ["b.com:x"] }]\n', "the port must be a number"),
    ('[network]\ndeny = [{ host = "a.com", match = ["/run/x"] }]\n', "HOST:PORT"),
    ('[network]\nalow = []\n', 'did you mean "allow"'),
    ('[network]\ndeny = [{ host = "a.com", colour = 1 }]\n', "unknown key"),
])
def test_bad_network_sections_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_text(text, "jail.toml")
    shown = str(caught.value) + (caught.value.hint or "")
    assert message in shown
    assert caught.value.line is not None and caught.value.line >= 1


DESTS = st.one_of(
    st.builds(lambda a, p: Destination(address=f"10.0.0.{a}", port=p), st.integers(0, 3), st.integers(1, 4)),
    st.builds(lambda h, p: Destination(host=h, port=p), st.sampled_from(["a.com", "b.a.com", "c.org"]),
              st.integers(1, 4)))
RULES = st.lists(st.sampled_from(["10.0.0.1", "10.0.0.0/30:2", "*.a.com", "a.com:1", "*", "c.org:3", "*:4"]),
                 max_size=3)


@settings(max_examples=200, deadline=None)
@given(base_deny=RULES, base_ask=RULES, project_allow=RULES,
       project_default=st.sampled_from(["allow", "ask", "deny"]), dest_=DESTS)
def test_a_project_never_loosens_what_the_base_denies_or_asks(base_deny, base_ask, project_allow,
                                                            project_default, dest_) -> None:
    def toml(key, items):
        return f"{key} = [{', '.join(repr(i).replace(chr(39), chr(34)) for i in items)}]\n"

    base = '[network]\ndefault = "ask"\n' + toml("deny", base_deny) + toml("ask", base_ask)
    project = f'[network]\ndefault = "{project_default}"\n' + toml("allow", project_allow)
    alone = policy(base).decide(dest_).action
    merged = policy(base, project).decide(dest_).action
    denied_by_rule = any(policy(f"[network]\n{toml('deny', [r])}").decide(dest_).action is Action.DENY
                         for r in base_deny)
    if alone is Action.DENY and denied_by_rule:
        assert merged is Action.DENY  # a base denial survives every project
    if alone is Action.ASK and merged is Action.ALLOW:
        # only an explicit project allow of this destination may lift a base ask
        assert policy(f"[network]\n{toml('allow', project_allow)}").decide(dest_).rule.kind == "network.allow"
