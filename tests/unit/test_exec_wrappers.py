"""Wrappers followed, `sh -c` strings read, interpreters and ld.so: the command inside is found."""

from __future__ import annotations

import pytest

from jail.exec_policy import ExecEvent, ExecPolicy
from jail.execrules.invocations import invocations
from jail.execrules.shell import split_commands
from jail.policy import Action
from jail.profile import parse_text, read_builtin

pytestmark = pytest.mark.unit

HOME, WS = "/home/user", "/home/user/project"
_FOUND = read_builtin("destructive")
assert _FOUND is not None
CATALOGUE = ExecPolicy(parse_text(_FOUND.data.decode(), _FOUND.source).exec_rules, home=HOME,
                       writable=("/tmp",))


def decide(argv: list[str], exe: str | None = None, env: dict[str, str] | None = None,
           cwd: str = WS):
    exe = exe or "/usr/bin/" + argv[0].rsplit("/", 1)[-1]
    return CATALOGUE.explain(ExecEvent(exe, tuple(argv), cwd, WS, env or {}))


# (argv, the command the deciding rule matched, how it was reached)
FOLLOWED = [
    (["env", "TF_LOG=1", "terraform", "destroy"], "terraform destroy", "env"),
    (["env", "-i", "-u", "X", "-C", "/srv", "terraform", "destroy"], "terraform destroy", "env"),
    (["sudo", "-u", "root", "-E", "terraform", "destroy"], "terraform destroy", "sudo"),
    (["doas", "-u", "ops", "dropdb", "app"], "dropdb app", "doas"),
    (["nice", "-n", "10", "git", "push", "-f"], "git push -f", "nice"),
    (["nohup", "terraform", "destroy"], "terraform destroy", "nohup"),
    (["timeout", "-s", "KILL", "5m", "kubectl", "delete", "ns", "x"], "kubectl delete ns x", "timeout"),
    (["xargs", "-0", "-n", "1", "docker", "volume", "rm"], "docker volume rm", "xargs"),
    (["stdbuf", "-oL", "helm", "uninstall", "api"], "helm uninstall api", "stdbuf"),
    (["setsid", "-f", "terraform", "destroy"], "terraform destroy", "setsid"),
    (["time", "-p", "terraform", "destroy"], "terraform destroy", "time"),
    (["busybox", "rm", "-rf", "/srv"], "rm -rf /srv", "busybox"),
    (["su", "-c", "terraform destroy", "ops"], "terraform destroy", "su -c, command 1"),
    (["su", "ops", "-lc", "dropdb app"], "dropdb app", "su -lc, command 1"),
    (["script", "-qc", "terraform destroy", "/dev/null"], "terraform destroy", "script -qc, command 1"),
    (["flock", "/tmp/lock", "terraform", "destroy"], "terraform destroy", "flock"),
    (["watch", "-n", "5", "kubectl", "delete", "pod", "x"], "kubectl delete pod x", "watch, command 1"),
    (["ssh", "-p", "2222", "db.example.com", "dropdb", "app"], "dropdb app", "ssh, command 1"),
    (["ssh", "db", "psql -c 'DROP TABLE users'"], "psql -c 'DROP TABLE users'", "ssh, command 1"),
    (["npx", "--yes", "vercel@latest", "rm", "app"], "vercel rm app", "npx"),
    (["npm", "exec", "--", "prisma", "migrate", "reset"], "prisma migrate reset", "npm"),
    (["pnpm", "dlx", "supabase", "db", "reset"], "supabase db reset", "pnpm"),
    (["uv", "run", "python", "manage.py", "flush"], "manage.py flush", "uv → python script"),
    (["bundle", "exec", "rails", "db:drop"], "rails db:drop", "bundle"),
    (["op", "run", "--env-file=.env", "--", "terraform", "destroy"], "terraform destroy", "op"),
    (["aws-vault", "exec", "prod", "--", "aws", "s3", "rb", "s3://b"], "aws s3 rb s3://b", "aws-vault"),
    (["sudo", "env", "LD_LIBRARY_PATH=/x", "timeout", "9", "git", "push", "--mirror"],
     "git push --mirror", "sudo → env → timeout"),
    # shells: each simple command of the string
    (["bash", "-c", "cd infra && terraform destroy"], "terraform destroy", "bash -c, command 2"),
    (["sh", "-c", "make build; git push --force origin main || true"],
     "git push --force origin main", "sh -c, command 2"),
    (["bash", "-lc", "ls | xargs rm -rf /srv"], "rm -rf /srv", "bash -c, command 2 → xargs"),
    (["bash", "--norc", "-e", "-o", "pipefail", "-c", "terraform destroy"], "terraform destroy",
     "bash -c, command 1"),
    (["zsh", "-c", "if true; then kubectl delete ns x; fi"], "kubectl delete ns x", "zsh -c, command 2"),
    (["bash", "-c", "for d in a b; do rm -rf ~/$d; done"], "rm -rf '~/$d'", "bash -c, command 1"),
    (["bash", "-c", "f() { terraform destroy; }; f"], "terraform destroy", "bash -c, command 2"),
    (["bash", "-c", "echo $(terraform destroy -auto-approve)"], "terraform destroy -auto-approve",
     "bash -c, command 2"),
    (["bash", "-c", "echo `dropdb app`"], "dropdb app", "bash -c, command 2"),
    (["bash", "-c", "X=1 LD_LIBRARY_PATH=/l terraform destroy 2>/dev/null"], "terraform destroy",
     "bash -c, command 1"),
    (["bash", "-c", "terraform \\\n  destroy"], "terraform destroy", "bash -c, command 1"),
    (["bash", "-c", "cd x # a comment\nterraform destroy"], "terraform destroy", "bash -c, command 2"),
    (["bash", "-c", "'terraform' \"destroy\""], "terraform destroy", "bash -c, command 1"),
    (["bash", "-c", "$'git' push -f"], "git push -f", "bash -c, command 1"),
    (["bash", "-c", "sudo -u root bash -c 'git push --force'"], "git push --force",
     "bash -c, command 1 → sudo → bash -c, command 1"),
    (["bash", "-c", "psql <<'EOF'\nDROP TABLE users;\nEOF\n"], "psql", "bash -c, command 1"),
    (["bash", "-c", "echo 'TRUNCATE orders;' | psql app"], "psql app", "bash -c, command 2"),
    (["bash", "-c", "psql app <<< 'delete from users'"], "psql app", "bash -c, command 1"),
    (["bash", "-c", "cat <<EOF | mysql\nDROP DATABASE shop;\nEOF"], "mysql", "bash -c, command 2"),
    # interpreters and the loader
    (["/usr/bin/python3", "/usr/local/bin/aws", "s3", "rb", "s3://b"], "aws s3 rb s3://b",
     "python3 script"),
    (["python3", "-Im", "azure.cli", "group", "delete", "-n", "x"], "azure.cli group delete -n x",
     "python3 -m"),
    (["/usr/bin/env", "node", "/usr/local/bin/vercel", "rm", "x"], "vercel rm x", "env → node script"),
    (["/usr/bin/env", "-S", "node --no-warnings", "/usr/local/bin/netlify", "sites:delete", "x"],
     "netlify sites:delete x", "env → node script"),
    (["/bin/bash", "/usr/local/bin/heroku", "apps:destroy", "-a", "x"], "heroku apps:destroy -a x",
     "bash script"),
    (["/lib64/ld-linux-x86-64.so.2", "/usr/bin/terraform", "destroy"], "terraform destroy", "ld.so"),
    (["/lib64/ld-linux-x86-64.so.2", "--argv0", "x", "--library-path", "/l", "/usr/bin/dropdb", "a"],
     "dropdb a", "ld.so"),
]


@pytest.mark.parametrize(("argv", "command", "how"), FOLLOWED, ids=[" ".join(a) for a, _, _ in FOLLOWED])
def test_wrapped_commands_are_found(argv: list[str], command: str, how: str) -> None:
    exe = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" if "ld-linux" in argv[0] else None
    decision = decide(argv, exe=exe)
    assert decision.verdict.action in (Action.ASK, Action.DENY)
    assert decision.command == command
    assert decision.invocation is not None and decision.invocation.how == how


NOT_FOLLOWED = [
    ["sudo", "-l", "terraform", "destroy"],  # lists, runs nothing
    ["command", "-v", "terraform"],
    ["bash", "-c", "echo terraform destroy"],
    ["bash", "-c", "echo 'rm -rf /'"],
    ["bash", "-c", "git commit -m 'git push --force later'"],
    ["bash", "-c", "# terraform destroy\nls"],
    ["bash", "-c", "grep -r 'DROP TABLE' migrations/"],
    ["bash", "-c", "cd /tmp && rm -rf scratch"],
    ["bash", "script.sh", "terraform", "destroy"],
    ["python3", "-c", "import os; print('terraform destroy')"],
    ["timeout", "5", "terraform", "plan"],
    ["ssh", "host"],
    ["env", "FOO=terraform", "ls", "destroy"],
]


@pytest.mark.parametrize("argv", NOT_FOLLOWED, ids=[" ".join(a) for a in NOT_FOLLOWED])
def test_nothing_destructive_inside(argv: list[str]) -> None:
    assert decide(argv).verdict.action is Action.ALLOW


def test_cd_in_a_shell_string_moves_the_targets() -> None:
    assert decide(["bash", "-c", "cd ~ && rm -rf Pictures"]).verdict.action is Action.ASK
    assert decide(["bash", "-c", "cd /srv; rm -rf app"]).verdict.action is Action.ASK
    assert decide(["bash", "-c", "cd $TARGET && rm -rf *"]).verdict.action is Action.ASK
    assert decide(["bash", "-c", "cd build && rm -rf out"]).verdict.action is Action.ALLOW
    # the directory the exec itself runs in counts, not only the workspace
    assert decide(["rm", "-rf", "photos"], cwd=HOME).verdict.action is Action.ASK
    assert decide(["rm", "-rf", "photos"], cwd="").verdict.action is Action.ASK  # unknown: ask
    assert decide(["env", "-C", "/srv", "rm", "-rf", "x"]).verdict.action is Action.ASK


def test_every_reading_of_a_misleading_name_is_followed() -> None:
    # busybox run as `sh`, and bash started with argv[0] "env": both readings count
    found = decide(["sh", "-c", "terraform destroy"], exe="/usr/bin/busybox")
    assert found.command == "terraform destroy"
    found = decide(["env", "-c", "git push --force"], exe="/usr/bin/bash")
    assert found.command == "git push --force"


def test_every_simple_command_of_a_long_script_is_read() -> None:
    script = "\n".join(f"echo step {i}" for i in range(100)) + "\nterraform destroy\n"
    assert decide(["bash", "-c", script]).command == "terraform destroy"


def test_limits_keep_a_hostile_string_cheap() -> None:
    many = "; ".join(["true"] * 5000) + "; terraform destroy"
    found = invocations("/usr/bin/bash", ["bash", "-c", many], WS, {})
    assert len(found) <= 256  # read up to a bound; the final exec is checked anyway
    deep = "bash -c " * 50 + "x"
    assert len(invocations("/usr/bin/bash", ["bash", "-c", deep], WS, {})) <= 256


@pytest.mark.parametrize(("text", "words"), [
    ("a 'b c' \"d $e\" f\\ g", [["a", "b c", "d $e", "f g"]]),
    ("a;b&&c||d|e&f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("A=1 B=2 cmd x >out 2>&1 <in", [["cmd", "x"]]),
    ("(cd x; y) && { z; }", [["cd", "x"], ["y"], ["z"]]),
    ("$'a\\tb' $'\\x41'", [["a\tb", "A"]]),
    ("a <(b c) >(d)", [["a"], ["b", "c"], ["d"]]),
    ("unterminated 'quote", [["unterminated", "quote"]]),
    ("", []),
])
def test_shell_splitting(text: str, words: list[list[str]]) -> None:
    assert [c.words for c in split_commands(text)] == words


def test_heredoc_and_pipe_text_becomes_stdin() -> None:
    first, second = split_commands("psql <<-END\n\tDROP TABLE x;\n\tEND\nls")
    assert first.stdin == "\tDROP TABLE x;" and second.words == ["ls"]
    (_, piped) = split_commands("printf 'FLUSHALL\\n' | redis-cli")
    assert piped.stdin == "FLUSHALL\\n"
