"""The built-in profiles do what they promise, decided by the real policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from jail.policy import Access, Action, FileEvent, Policy, PolicyContext
from jail.profile import load_profile

pytestmark = pytest.mark.unit

HOME = Path("/home/ann")


def policy_for(name: str, tmp_path: Path) -> Policy:
    workspace = tmp_path / "proj"
    workspace.mkdir(exist_ok=True)
    loaded = load_profile(cwd=workspace, home=HOME, env={"XDG_CONFIG_HOME": str(tmp_path / "c")},
                          profile=name)
    ctx = PolicyContext(home=HOME, state_dir=HOME / ".local/state/jail", config_dir=HOME / ".config/jail")
    return Policy.from_profile(loaded.profile, ctx)


def action(policy: Policy, access: str, path: str) -> str:
    return policy.decide_file(FileEvent(Access(access), path)).action.value


CREDENTIALS = [
    "~/.ssh/id_rsa", "~/.ssh/id_ed25519", "~/.gnupg/private-keys-v1.d/x.key", "~/.aws/credentials",
    "~/.config/gcloud/application_default_credentials.json", "~/.azure/msal_token_cache.json",
    "~/.kube/config", "~/.docker/config.json", "~/.netrc", "~/.git-credentials", "~/.npmrc",
    "~/.pypirc", "~/.config/gh/hosts.yml", "~/.config/hub", "~/.password-store/bank.gpg",
    "~/.local/share/keyrings/login.keyring", "~/.mozilla/firefox/abc.default/cookies.sqlite",
    "~/.config/google-chrome/Default/Cookies", "~/.config/chromium/Default/Login Data",
    "~/.config/BraveSoftware/Brave-Browser/Default/Cookies", "~/.config/microsoft-edge/Default/Cookies",
    "~/snap/firefox/common/.mozilla/firefox/x/logins.json", "~/.vault-token", "~/.pgpass", "~/.my.cnf",
    "~/.psql_history", "~/.mysql_history", "~/.cargo/credentials.toml", "~/.cargo/credentials",
    "~/.gem/credentials", "~/.terraform.d/credentials.tfrc.json", "~/.config/doctl/config.yaml",
    "~/.oci/config", "~/.s3cfg", "~/.boto", "~/.config/rclone/rclone.conf", "~/.config/op/config",
    "~/.netlify/config.json", "~/.config/netlify/config.json", "~/.railway/config.json",
    "~/.fly/config.yml", "~/.config/heroku/config.json", "~/.local/share/com.vercel.cli/auth.json",
    "~/.config/gopass/config.yml", "/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssh/ssh_host_rsa_key", "/etc/ssl/private/server.key", "/run/secrets/db",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
]


@pytest.mark.parametrize("name", ["default", "strict"])
@pytest.mark.parametrize("path", CREDENTIALS)
def test_credential_stores_are_unreadable(tmp_path: Path, name: str, path: str) -> None:
    policy = policy_for(name, tmp_path)
    full = str(HOME) + path[1:] if path.startswith("~") else path
    verdict = policy.decide_file(FileEvent(Access.READ, full))
    assert verdict.action is Action.DENY
    assert verdict.rule.kind == "files.deny" and verdict.rule.source == "default.toml"
    assert verdict.rule.line > 0 and verdict.reason
    assert action(policy, "write", full) == "deny"


def test_every_default_deny_rule_has_a_reason(tmp_path: Path) -> None:
    loaded = load_profile(cwd=tmp_path, home=HOME, env={}, profile="default")
    assert all(rule.reason for rule in loaded.profile.deny)


@pytest.mark.parametrize(("access", "path", "expected"), [
    ("write", "{ws}/src/main.py", "allow"),
    ("create", "{ws}/new.txt", "allow"),
    ("delete", "{ws}/old.txt", "allow"),
    ("write", "/tmp/x", "allow"),
    ("write", "/var/tmp/x", "allow"),
    ("write", "/dev/shm/x", "allow"),
    ("write", "~/.cache/pip/http/x", "allow"),
    ("write", "/dev/null", "allow"),
    ("write", "/dev/tty", "allow"),
    ("write", "/dev/pts/3", "allow"),
    ("read", "/dev/urandom", "allow"),
    ("write", "/dev/sda", "deny"),
    ("read", "~/.bashrc", "allow"),
    ("read", "/etc/passwd", "allow"),
    ("read", "/etc/ssh/ssh_host_ed25519_key.pub", "allow"),
    ("read", "~/.sshrc", "allow"),
    ("read", "~/.awsome/x", "allow"),
    ("write", "~/.bashrc", "deny"),
    ("write", "/etc/passwd", "deny"),
    ("delete", "/usr/bin/python3", "deny"),
    ("delete", "~", "deny"),
])
def test_default_profile(tmp_path: Path, access: str, path: str, expected: str) -> None:
    policy = policy_for("default", tmp_path)
    full = path.replace("{ws}", str(tmp_path / "proj")).replace("~", str(HOME))
    assert action(policy, access, full) == expected


@pytest.mark.parametrize(("access", "path", "expected"), [
    ("read", "~/.bashrc", "deny"),
    ("read", "~/notes/todo.txt", "deny"),
    ("read", "~/.cache/pip/x", "deny"),
    ("write", "~/.cache/pip/x", "deny"),
    ("read", "/usr/lib/python3/os.py", "allow"),
    ("read", "/etc/hosts", "allow"),
    ("read", "{ws}/src/main.py", "allow"),
    ("write", "{ws}/src/main.py", "allow"),
    ("write", "/tmp/x", "allow"),
    ("read", "/tmp/x", "allow"),
    ("write", "/var/tmp/x", "deny"),
    ("write", "/dev/shm/x", "deny"),
    ("write", "/dev/null", "allow"),
    ("read", "/var/log/syslog", "deny"),
    ("read", "/etc/shadow", "deny"),
])
def test_strict_profile(tmp_path: Path, access: str, path: str, expected: str) -> None:
    policy = policy_for("strict", tmp_path)
    full = path.replace("{ws}", str(tmp_path / "proj")).replace("~", str(HOME))
    assert action(policy, access, full) == expected


def test_strict_writable_roots_are_only_the_project_tmp_and_devices(tmp_path: Path) -> None:
    roots = policy_for("strict", tmp_path).writable_roots()
    assert str(tmp_path / "proj") in roots and "/tmp" in roots
    assert not {"/var/tmp", "/dev/shm", str(HOME / ".cache")} & set(roots)
    assert all(root.startswith("/dev/") for root in roots if root not in (str(tmp_path / "proj"), "/tmp"))


def test_default_writable_roots(tmp_path: Path) -> None:
    roots = policy_for("default", tmp_path).writable_roots()
    expected = {str(tmp_path / "proj"), "/tmp", "/var/tmp", "/dev/shm", str(HOME / ".cache"), "/dev/null"}
    assert expected <= set(roots)
