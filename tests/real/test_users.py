"""jail as root running the agent as another user, and jail run by an
ordinary user (user + pid namespace, or the fallback without namespaces)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import SECRET, WORLDS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create the unprivileged world")

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def nobody_world():
    """A home and workspace owned by nobody, outside root's private tmp dirs."""
    WORLDS.mkdir(mode=0o755, parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="nobody-", dir=WORLDS))
    os.chmod(base, 0o755)
    home, workspace = base / "home", base / "project"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
    workspace.mkdir()
    for path in (home, home / ".ssh", home / ".ssh" / "id_rsa", workspace):
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    yield home, workspace
    shutil.rmtree(base, ignore_errors=True)


SCRIPT = "cat ~/.ssh/id_rsa; echo made > made.txt && id -u && stat -c %U made.txt; echo x > /etc/jail-nobody"


def test_root_jail_runs_the_agent_as_another_user(nobody_world):
    _home, workspace = nobody_world
    env = {"PATH": os.environ["PATH"], "HOME": "/root"}
    command = [sys.executable, "-m", "jail", "run", "--user", "nobody", "--", "bash", "-c", SCRIPT]
    result = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=60)
    assert SECRET not in result.stdout
    assert result.stdout.split() == [str(NOBODY.pw_uid), "nobody"]
    assert not Path("/etc/jail-nobody").exists()
    # The supervisor created the file with the agent's identity, not root's.
    assert (workspace / "made.txt").stat().st_uid == NOBODY.pw_uid


# jail itself as an ordinary user. Python lives under /root here, which nobody
# cannot enter, so the harness imports everything first and then drops to nobody.
DROP = textwrap.dedent("""
    import os, sys
    import jail.cli, jail.commands.run, jail.audit, jail.filter, jail.landlock, jail.profile
    import jail.policy, jail.policy_context, jail.supervisor.loop, jail.supervisor.context
    import jail.supervisor.resolve, jail.supervisor.files, jail.supervisor.paths, jail.sandbox
    import jail.supervisor.execgate, ptrace.binding.func
    import jail.terminal, jail.approve.terminal_prompt
    import encodings.idna, json, hashlib, difflib
    from jail.profile import builtin
    builtin.preload()
    jail.cli.build_parser()  # imports every command module
    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
    sys.exit(jail.cli.main(["run", "--", "bash", "-c", sys.argv[1]]))
""")


@pytest.mark.parametrize("namespaces", ["auto", "none"])
def test_ordinary_user_runs_jail(nobody_world, namespaces):
    home, workspace = nobody_world
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "JAIL_NAMESPACES": namespaces}
    probe = SCRIPT + "; cat /proc/self/status | grep -c NSpid"
    result = subprocess.run([sys.executable, "-c", DROP, probe], cwd=workspace, env=env,
                            capture_output=True, text=True, timeout=60)
    assert SECRET not in result.stdout, result.stdout
    assert "jail: denied" in result.stderr, result.stderr
    lines = result.stdout.split()
    assert lines[:2] == [str(NOBODY.pw_uid), "nobody"], (result.stdout, result.stderr)
    assert not Path("/etc/jail-nobody").exists()
    sessions = list((home / ".local/state/jail/sessions").glob("*.jsonl"))
    assert sessions and sessions[0].stat().st_uid == NOBODY.pw_uid
