"""Command patterns against real argv: names, options anywhere, bundles, aliases, values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jail.exec_policy import ExecEvent, ExecPolicy
from jail.execrules.names import names_of
from jail.execrules.pattern import PatternError, parse_pattern
from jail.policy import Action
from jail.profile import parse_text, read_builtin
from jail.profile.model import EXEC_ALLOW, EXEC_ASK, ExecRule

pytestmark = pytest.mark.unit

WS = "/home/user/project"
_FOUND = read_builtin("destructive")
assert _FOUND is not None
CATALOGUE = ExecPolicy(parse_text(_FOUND.data.decode(), _FOUND.source).exec_rules,
                       home="/home/user", writable=("/tmp",))


def rule(command: str, kind: str = EXEC_ASK, **extra) -> ExecRule:
    return ExecRule(kind, command, "t.toml", 1, "because", **extra)


def matched(command: str, argv: list[str], exe: str | None = None, **extra) -> bool:
    exe = exe or ("/usr/bin/" + argv[0].rsplit("/", 1)[-1])
    policy = ExecPolicy([rule(command, **extra)], home="/home/user", writable=("/tmp",))
    return bool(policy.explain(ExecEvent(exe, tuple(argv), WS, WS)).matches)


# (pattern, argv, exe or None, should match)
TABLE = [
    # the program: exe basename or argv[0] basename, wherever it lives
    ("terraform destroy *", ["terraform", "destroy"], None, True),
    ("terraform destroy *", ["/usr/local/bin/terraform", "destroy"], None, True),
    ("terraform destroy *", ["./terraform", "destroy"], "/home/user/project/terraform", True),
    ("terraform destroy *", ["tf", "destroy"], "/opt/terraform/terraform", True),  # symlink tf -> terraform
    ("terraform destroy *", ["terraform", "destroy"], "/usr/bin/tf-copy", True),  # argv[0] still names it
    ("terraform destroy *", ["tf-copy", "destroy"], "/tmp/tf-copy", False),  # a renamed copy: cannot tell
    ("terraform destroy *", ["tofu", "destroy"], None, True),  # alias
    ("tofu destroy *", ["terraform", "destroy"], None, True),  # alias, written the other way
    ("terraform destroy *", ["terraform_1.6", "destroy"], "/opt/terraform_1.6", True),  # version suffix
    ("python3 -m http.server *", ["python3.11", "-m", "http.server"], "/usr/bin/python3.11", True),
    ("python -c *", ["python3.12", "-c", "x"], "/usr/bin/python3.12", True),
    ("mkfs*", ["mkfs.ext4"], None, True),
    ("mkfs*", ["mkdir"], None, False),
    # options are found anywhere, other options are ignored
    ("terraform destroy *", ["terraform", "-chdir=x", "destroy", "-auto-approve"], None, True),
    ("terraform destroy *", ["terraform", "plan", "-destroy"], None, False),
    ("terraform destroy *", ["terraform", "plan", "-out", "destroy"], None, False),
    ("terraform apply -destroy *", ["terraform", "apply", "-auto-approve", "-destroy"], None, True),
    ("terraform apply -destroy *", ["terraform", "-destroy", "apply"], None, True),
    ("terraform apply -destroy *", ["terraform", "apply", "-d"], None, False),
    ("git push --force *", ["git", "push", "origin", "main", "--force"], None, True),
    ("git push --force *", ["git", "--no-pager", "push", "--force"], None, True),
    ("git push --force *", ["git", "-c", "user.name=x", "push", "-f"], None, True),
    ("git push --force *", ["git", "-C", "/src", "push", "-uf", "origin", "x"], None, True),  # bundle
    ("git push --force *", ["git", "push", "--forc"], None, True),  # abbreviation
    ("git push --force *", ["git", "push", "--force-with-lease"], None, False),
    ("git push --force *", ["git", "push", "--", "--force"], None, False),  # after --: an operand
    ("git push --force *", ["git", "pull", "--force"], None, False),
    ("git push --force *", ["git", "commit", "-m", "push --force"], None, False),
    # positional words in order, anchored; * spans any number of arguments
    ("kubectl delete *", ["kubectl", "-n", "prod", "delete", "pod", "x"], None, True),
    ("kubectl delete *", ["kubectl", "--context", "prod", "delete", "ns", "x"], None, True),
    ("kubectl delete *", ["kubectl", "get", "pods", "delete"], None, False),
    ("kubectl delete pod", ["kubectl", "delete", "pod", "x"], None, False),
    ("kubectl delete pod *", ["kubectl", "delete", "pod"], None, True),
    ("git push * +* *", ["git", "push", "origin", "+main"], None, True),
    ("git push * +* *", ["git", "push", "origin", "main"], None, False),
    ("aws * delete-* *", ["aws", "--region", "x", "lambda", "delete-function", "--function-name", "f"],
     None, True),
    ("aws rds delete-db-* *", ["aws", "rds", "delete-db-cluster"], None, True),
    ("aws rds delete-db-* *", ["aws", "rds", "delete-event-subscription"], None, False),
    ("psql *", ["psql"], None, True),
    ("railway * delete *", ["railway", "delete"], None, True),
    # quoting in patterns
    ("app 'two words' *", ["app", "two words", "x"], None, True),
    ("app 'two words' *", ["app", "two", "words"], None, False),
    # options with values
    ("kubectl scale --replicas=0 *", ["kubectl", "scale", "x", "--replicas=0"], None, True),
    ("kubectl scale --replicas=0 *", ["kubectl", "scale", "--replicas", "0", "x"], None, True),
    ("kubectl scale --replicas=0 *", ["kubectl", "scale", "--replicas=3", "x"], None, False),
    ("terraform apply -replace=* *", ["terraform", "apply", "-replace=a.b"], None, True),
    ("gh api --method=DELETE *", ["gh", "api", "-X", "DELETE", "x"], None, True),
    ("gh api --method=DELETE *", ["gh", "api", "-XDELETE", "x"], None, True),
    ("gh api --method=DELETE *", ["gh", "api", "--method=GET", "x"], None, False),
    # per-program option aliases
    ("rm -r *", ["rm", "-R", "x"], None, True),
    ("rm -r *", ["rm", "--recursive", "x"], None, True),
    ("rm -r *", ["rm", "-fr", "x"], None, True),
    ("rm -r *", ["rm", "-Rf", "x"], None, True),
    ("rm -r *", ["rm", "-r", "-f", "x"], None, True),
    ("rm -r *", ["rm", "-f", "x"], None, False),
    ("git clean -f *", ["git", "clean", "-d", "--force"], None, True),
    ("docker compose down --volumes *", ["docker-compose", "down", "-v"], None, True),
    ("docker volume rm *", ["podman", "volume", "rm", "x"], None, True),
    ("find * -delete *", ["find", ".", "-depth", "-delete"], None, True),
    ("find * -delete *", ["find", ".", "-d"], None, False),  # single-dash long options: no bundles
]


@pytest.mark.parametrize(("pattern", "argv", "exe", "expected"), TABLE,
                         ids=[f"{p} | {' '.join(a)}" for p, a, _, _ in TABLE])
def test_pattern_table(pattern: str, argv: list[str], exe: str | None, expected: bool) -> None:
    assert matched(pattern, argv, exe) is expected


def test_names_of_a_program() -> None:
    assert [n for n, _ in names_of("/usr/bin/python3.11")] == ["python3.11", "python3", "python"]
    assert ("docker", ("compose",)) in names_of("docker-compose")
    assert dict(names_of("/srv/node_modules/netlify-cli/bin/run.js"))["netlify"] == ()
    assert dict(names_of("/usr/lib/google-cloud-sdk/lib/gcloud.py"))["gcloud"] == ()
    assert names_of("") == ()


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty command"),
    ("'unclosed", "cannot split"),
    ("/usr/bin/terraform destroy", "name the program, not a path"),
    ("-f x", "names the program"),
    ("git -- push", "`--` is not needed"),
    ("git push --=x", "not an option name"),
])
def test_bad_patterns(text: str, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        parse_pattern(text)


def test_allow_is_strict_about_the_options_it_names() -> None:
    allow = "terraform destroy -target=module.scratch *"
    assert matched(allow, ["terraform", "destroy", "-target=module.scratch"], kind=EXEC_ALLOW)
    assert not matched(allow, ["terraform", "destroy", "-target=module.scratch", "-target=module.db"],
                       kind=EXEC_ALLOW)
    # the same pattern as an ask is satisfied by any one occurrence
    assert matched(allow, ["terraform", "destroy", "-target=module.scratch", "-target=module.db"])


def test_sha256_matches_a_renamed_copy() -> None:
    digest = "a" * 64
    policy = ExecPolicy([rule("terraform destroy *", sha256=(digest,))], home="/h")
    assert policy.needs_sha256
    copy = ExecEvent("/tmp/x", ("x", "destroy"), WS, WS, exe_sha256=digest)
    assert policy.decide(copy).action is Action.ASK
    other = ExecEvent("/tmp/x", ("x", "destroy"), WS, WS, exe_sha256="b" * 64)
    assert policy.decide(other).action is Action.ALLOW
    assert not ExecPolicy([rule("terraform destroy *")], home="/h").needs_sha256


words = st.text(alphabet=st.sampled_from(list("ab-=*+ '\"\\$;|&()`\n/~.")), max_size=8)


@settings(max_examples=300, deadline=None)
@given(argv=st.lists(words, min_size=0, max_size=8), program=st.sampled_from(
    ["bash", "sh", "env", "sudo", "xargs", "python3", "node", "ld-linux-x86-64.so.2", "git", "rm",
     "timeout", "ssh", "npx", "kill", "curl", "psql", "find", "chmod"]))
def test_any_argv_gets_a_verdict_never_an_exception(argv: list[str], program: str) -> None:
    event = ExecEvent(f"/usr/bin/{program}", (program, *argv), WS, WS)
    assert CATALOGUE.decide(event).action in (Action.ALLOW, Action.ASK, Action.DENY)
