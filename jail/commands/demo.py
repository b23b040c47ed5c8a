"""`jail demo [--keep]`: replay a real incident in a throw-away world, without and with jail.

The incident: an agent asked to clean up staging found a platform token in an
unrelated file and deleted the production database volume with one GraphQL
mutation. Here the agent is a short script, the platform a server on
127.0.0.1, the volume a directory; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from jail.errors import ExitCode, UsageError

RULE = "─" * 72
RUN_TIMEOUT = 60  # seconds; the script takes well under one


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="replay a real incident without and with jail (offline, a few seconds)",
                       description="Build a throw-away world (a home with a token in an old notes file, a "
                       "stand-in platform API on 127.0.0.1, a production volume) and run a scripted agent "
                       "that finds the token and deletes the volume: once without jail, once with it.")
    p.add_argument("--keep", action="store_true", help="keep the world (and its audit log) afterwards")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jail.demo.world import VOLUME, PlatformAPI, build_world

    if shutil.which("curl") is None or shutil.which("bash") is None:
        raise UsageError("the demo's scripted agent needs bash and curl",
                         hint="install curl, then run it again")
    world = build_world()
    try:
        with PlatformAPI(world) as api:
            env = _environment(world, api.url, VOLUME)
            print("jail demo: an agent finds a platform token in an unrelated file, then deletes a")
            print("production volume with one GraphQL mutation (a real incident, replayed locally).\n")
            print(f"world:  {world.root}  (home, project, platform/volumes/{VOLUME})")
            print(f"token:  {world.home}/notes/old-staging-deploy.md\n")

            _heading("1. without jail", f"$ bash {world.agent.name}")
            bare = _run(["bash", str(world.agent)], world, env)
            bare_deleted = not world.volume_alive
            _show(bare)
            _outcome(api, bare_deleted)

            world.restore_volume()
            _heading("2. with jail", f"$ jail run -- bash {world.agent.name}")
            api.calls.clear()
            # --profile default: the built-in rules only, whatever jail.toml lies above the temp dir.
            jailed = _run([sys.executable, "-m", "jail", "run", "--profile", "default", "--",
                           "bash", str(world.agent)], world, env)
            jailed_deleted = not world.volume_alive
            _show(jailed)
            _outcome(api, jailed_deleted)

            _heading("what jail did (from its audit log)", "")
            for line in audit_lines(world.state):
                print(f"  {line}")
            print(f"\n{RULE}")
            print("Without jail the agent had every permission you have. With it, the token in the old")
            print("notes file reached the agent only as a placeholder, and the deleting curl waited for")
            print("a person; with no one at a terminal to say yes, it was denied. `jail log` shows the")
            print("same records for your own sessions.")
        if args.keep:
            print(f"\nkept: {world.root}  (audit log under state/jail/sessions)")
        return ExitCode.OK if bare_deleted and not jailed_deleted else ExitCode.JAIL_FAILED
    finally:
        if not args.keep:
            world.remove()


def _environment(world, platform_url: str, volume: str) -> dict[str, str]:
    """A clean environment: the world's home, none of the caller's state or secrets."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "PYTHONPATH", "VIRTUAL_ENV")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    # jail's own state (audit log, trust) outside the home the agent greps through.
    env.update(HOME=str(world.home), XDG_STATE_HOME=str(world.state),
               XDG_CONFIG_HOME=str(world.root / "config"), USER=os.environ.get("USER", "demo"),
               PLATFORM_URL=platform_url, VOLUME_ID=volume, NO_PROXY="127.0.0.1,localhost",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(command: list[str], world, env: dict[str, str]) -> subprocess.CompletedProcess:
    # A session of its own, no terminal: no one can answer jail's question, so the
    # fallback (deny) applies at once and the demo never waits.
    return subprocess.run(command, cwd=world.project, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, check=False, start_new_session=True)


def _outcome(api, deleted: bool) -> None:
    calls = ", ".join("authorized" if c["authorized"] else "refused (bad token)" for c in api.calls)
    print(f"\n  platform API: {len(api.calls)} call(s){': ' + calls if calls else ''}")
    print(f"  → volume {api.world.volume.name}: {'DELETED' if deleted else 'still there'}\n")


def _heading(title: str, command: str) -> None:
    print(f"── {title} {RULE[:max(0, 68 - len(title))]}")
    if command:
        print(command)


def _show(done: subprocess.CompletedProcess) -> None:
    for line in (done.stdout + done.stderr).splitlines():
        if line.strip():
            print(f"  {line}")


def audit_lines(state: Path) -> list[str]:
    """The jailed session's redactions and denials, one line each, never a value."""
    sessions = sorted((state / "jail" / "sessions").glob("*.jsonl"))
    if not sessions:
        return ["(no audit log was written)"]
    lines = []
    for text in sessions[-1].read_text().splitlines():
        record = json.loads(text)
        event, verdict = record.get("event"), record.get("verdict")
        if event == "redact":
            rules = ", ".join(sorted({f["rule"] for f in record.get("findings", [])}))
            lines.append(f"redact  {record.get('target')}  ({rules}: served as a placeholder)")
        elif event == "exec" and verdict != "allow":
            argv = " ".join(record.get("argv", []))
            argv = argv if len(argv) <= 60 else argv[:57] + "..."
            lines.append(f"{verdict:<7} exec {argv}  ({record.get('reason')}; {record.get('rule')})")
        elif event == "approval-answer":
            decision = record.get("decision", {})
            lines.append(f"answer  {decision.get('answer')} by {decision.get('answerer')}")
    return lines or ["(nothing was redacted or stopped)"]
