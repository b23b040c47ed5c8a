"""The agent's environment arrives redacted; the profile's passthrough names
reach the agent alone; another process's environment reads redacted too."""

from __future__ import annotations

import json
import textwrap

GH_TOKEN = "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
PLAIN_PASSWORD = "correct-horse-battery-staple-42"
AGENT_KEY = "sk-ant-api03-" + "Qx7" * 30 + "AA"


def _user_base(world, text: str) -> None:
    base = world.home / ".config" / "jail" / "jail.toml"
    base.parent.mkdir(parents=True, exist_ok=True)
    base.write_text(text)


def test_secrets_in_the_environment_arrive_as_placeholders(world):
    env = {"GITHUB_TOKEN": GH_TOKEN, "SERVICE_PASSWORD": PLAIN_PASSWORD, "EDITOR": "vi"}
    result = world.run("sh", "-c", "env; tr '\\0' '\\n' < /proc/self/environ", env=env)
    assert result.returncode == 0, result.stderr
    assert GH_TOKEN not in result.stdout and PLAIN_PASSWORD not in result.stdout
    assert "GITHUB_TOKEN=REDACTED_BY_POLICY:github-pat-classic:" in result.stdout
    assert "SERVICE_PASSWORD=REDACTED_BY_POLICY:secret-env-name:" in result.stdout
    assert "EDITOR=vi" in result.stdout
    records = [r for r in world.audit_records() if r.get("event") == "redact-env"]
    assert {"name": "GITHUB_TOKEN", "rule": "github-pat-classic"} in records[0]["findings"]
    assert all(GH_TOKEN not in json.dumps(r) and PLAIN_PASSWORD not in json.dumps(r)
               for r in world.audit_records())


def test_a_passthrough_key_reaches_the_agent_and_not_what_it_starts(world):
    _user_base(world, '[redact]\npassthrough = ["ACME_API_KEY"]\n')
    agent = world.workspace / "agent.py"
    agent.write_text(textwrap.dedent("""
        import os, subprocess
        print("agent:", os.environ["ACME_API_KEY"])
        print(subprocess.run(["sh", "-c", "echo child: $ACME_API_KEY"], capture_output=True,
                             text=True).stdout.strip())
        peek = f"tr '\\\\0' '\\\\n' < /proc/{os.getpid()}/environ | grep ACME"
        print(subprocess.run(["sh", "-c", peek], capture_output=True, text=True).stdout.strip())
    """))
    result = world.run("python3", str(agent), env={"ACME_API_KEY": AGENT_KEY})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"agent: {AGENT_KEY}"
    assert lines[1].startswith("child: REDACTED_BY_POLICY") and AGENT_KEY not in lines[1]
    assert lines[2].startswith("ACME_API_KEY=REDACTED_BY_POLICY") and AGENT_KEY not in lines[2]
    execs = [r for r in world.audit_records() if r.get("event") == "exec" and r.get("env_scrubbed")]
    assert execs and execs[0]["env_scrubbed"] == ["ACME_API_KEY"]


def test_a_project_profile_cannot_pass_secrets_through(world):
    (world.workspace / "jail.toml").write_text('[redact]\n\npassthrough = ["GITHUB_TOKEN"]\n')
    result = world.run("env", args=("--trust-project",), env={"GITHUB_TOKEN": GH_TOKEN})
    assert result.returncode == 2
    assert "jail.toml:3:" in result.stderr and "may only add to redaction" in result.stderr
    assert GH_TOKEN not in result.stdout


def test_always_redact_paths_hide_every_value_and_never_scan_paths_are_served_as_is(world):
    (world.workspace / "jail.toml").write_text('[redact]\nalways = ["**/*.conf"]\n')
    _user_base(world, '[redact]\nnever = ["~/fixtures"]\n')
    (world.workspace / "app.conf").write_text("db_host = prod-db\nmode: fast\n")
    fixtures = world.home / "fixtures"
    fixtures.mkdir()
    (fixtures / "token.txt").write_text(f"GITHUB_TOKEN={GH_TOKEN}\n")
    result = world.run("cat", "app.conf", str(fixtures / "token.txt"), args=("--trust-project",))
    assert result.returncode == 0, result.stderr
    assert "prod-db" not in result.stdout and "fast" not in result.stdout
    assert "db_host = REDACTED_BY_POLICY" in result.stdout
    assert GH_TOKEN in result.stdout  # never scanned, by the person's own choice
