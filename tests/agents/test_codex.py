"""OpenAI Codex CLI (the real npm package) under jail with its built-in profile,
driven by the stand-in server through an OpenAI-compatible provider (Chat
Completions): a benign task completes, a planted token never reaches the
"model", terraform destroy does not run."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentworld import PLANTED, REDACTED, AgentWorld, install_npm, terraform_ran
from standin import StandIn, Step, say, tool

pytestmark = pytest.mark.agents

VERSION = "0.47.0"  # still speaks wire_api = "chat" to custom providers
API_KEY = "sk-proj-" + "StandInKey" * 5


@pytest.fixture(scope="module")
def codex_wrapper() -> Path:
    return install_npm("@openai/codex", VERSION, "codex")


@pytest.fixture(scope="module")
def codex(codex_wrapper: Path) -> str:
    """The native binary the npm package ships (the wrapper is a node script that starts it)."""
    package = codex_wrapper.resolve().parent.parent
    found = sorted(package.glob("vendor/x86_64-unknown-linux-*/codex/codex"))
    if not found:
        pytest.skip("no Linux x86-64 codex binary in the package")
    return str(found[0])


def shell(command: str) -> Step:
    return tool("shell", command=["bash", "-lc", command])


def drive(world: AgentWorld, codex: str, script: list[Step], *, jailed: bool = True):
    with StandIn(script) as server:
        config = world.home / ".codex"
        config.mkdir(exist_ok=True)
        (config / "config.toml").write_text(
            'model = "stand-in"\nmodel_provider = "standin"\n[model_providers.standin]\n'
            f'name = "Stand-in"\nbase_url = "{server.url}/v1"\nenv_key = "OPENAI_API_KEY"\n'
            'wire_api = "chat"\n')
        # Codex's own sandbox off: jail is the sandbox (see profiles/codex.toml).
        done = world.run([codex, "exec", "--skip-git-repo-check",
                          "--dangerously-bypass-approvals-and-sandbox", "Do the task."],
                         env={"OPENAI_API_KEY": API_KEY}, jailed=jailed)
    return done, server


def test_benign_task_completes(agent_world: AgentWorld, codex: str) -> None:
    done, server = drive(agent_world, codex, [
        shell("cat README.md"),
        shell("printf 'Widgets are built here.\\n' > NOTES.md"),
        say("Done: notes written."),
    ])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done: notes written." in done.stdout
    assert (agent_world.workspace / "NOTES.md").read_text() == "Widgets are built here.\n"
    assert "This project builds widgets." in server.everything_sent()
    assert server.model_turns() == 3
    assert server.credentials_seen() == {API_KEY}  # the key reached Codex itself
    assert any((agent_world.home / ".codex" / "sessions").rglob("*.jsonl"))  # its state was kept
    assert agent_world.audit_records()[0]["mode"]["agent_profile"] == "codex"


def secret_script() -> list[Step]:
    return [shell("cat .env; grep -rn ghp_ . ; env"), say("Nothing to see.")]


def test_a_planted_token_never_reaches_the_model(agent_world: AgentWorld, codex: str) -> None:
    done, server = drive(agent_world, codex, secret_script())
    assert done.returncode == 0, done.stderr[-3000:]
    sent = server.everything_sent()
    assert server.model_turns() == 2
    assert PLANTED not in sent
    assert REDACTED in sent
    assert "DEBUG=1" in sent
    assert API_KEY not in sent


def test_without_jail_the_same_script_leaks(agent_world: AgentWorld, codex: str) -> None:
    done, server = drive(agent_world, codex, secret_script(), jailed=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert PLANTED in server.everything_sent()


def destroy(world: AgentWorld) -> list[Step]:
    # `bash -l` rebuilds PATH from /etc/profile, so the stand-in is named by its path.
    return [shell(f"{world.bin}/terraform destroy -auto-approve"), say("Cleaned up.")]


def test_terraform_destroy_is_stopped(agent_world: AgentWorld, codex: str) -> None:
    done, server = drive(agent_world, codex, destroy(agent_world))
    assert not terraform_ran(agent_world)
    assert "destroyed" not in server.everything_sent()
    assert done.returncode == 0, done.stderr[-3000:]


def test_without_jail_terraform_destroy_runs(agent_world: AgentWorld, codex: str) -> None:
    drive(agent_world, codex, destroy(agent_world), jailed=False)
    assert terraform_ran(agent_world)


def test_through_the_npm_wrapper_the_key_reaches_codex(agent_world: AgentWorld, codex_wrapper: Path) -> None:
    done, server = drive(agent_world, str(codex_wrapper), [say("hello")])
    assert done.returncode == 0, done.stderr[-3000:]
    assert server.credentials_seen() == {API_KEY}
