"""The file policy's decision order, branch by branch, each verdict naming its rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jail.policy import Access, Action, FileEvent, Policy, PolicyContext
from jail.profile import merge, parse_text

pytestmark = pytest.mark.unit

HOME = Path("/home/ann")
WS = Path("/home/ann/proj")
STATE = HOME / ".local/state/jail"
CONFIG = HOME / ".config/jail"
PROFILE_FILE = WS / "jail.toml"

PROJECT = textwrap.dedent("""\
    [workspace]
    writable = [".", "/tmp", "~/.cache", "/dev/null"]

    [files]
    deny = [
      { path = "~/.ssh", reason = "SSH keys" },
      "**/.env.production",
      "secrets",
    ]
    read_only = ["**/.git/hooks", "/tmp/shared"]
    """)


def make_policy(text: str = PROJECT, **ctx) -> Policy:
    profile = merge([parse_text(text, "p.toml")], WS)
    context = PolicyContext(home=HOME, state_dir=STATE, config_dir=CONFIG, **ctx)
    return Policy.from_profile(profile, context)


def decide(policy: Policy, access: str, path: str, **event):
    return policy.decide_file(FileEvent(Access(access), path, **event))


# (access, path, action, rule kind, rule where or None)
TABLE = [
    # 3. deny: every access
    ("read", "/home/ann/.ssh/id_rsa", "deny", "files.deny", "p.toml:6"),
    ("write", "/home/ann/.ssh/config", "deny", "files.deny", "p.toml:6"),
    ("create", "/home/ann/.ssh/new", "deny", "files.deny", "p.toml:6"),
    ("delete", "/home/ann/.ssh", "deny", "files.deny", "p.toml:6"),
    ("link", "/home/ann/.ssh/id_rsa", "deny", "files.deny", "p.toml:6"),
    ("read", "/home/ann/proj/app/.env.production", "deny", "files.deny", "p.toml:7"),
    ("write", "/home/ann/proj/secrets/k", "deny", "files.deny", "p.toml:8"),
    # deny even inside a writable place
    ("create", "/tmp/x/.env.production", "deny", "files.deny", "p.toml:7"),
    # 4. read: everything not denied
    ("read", "/etc/passwd", "allow", "jail.read_default", None),
    ("read", "/home/ann/notes.txt", "allow", "jail.read_default", None),
    ("read", "/home/ann/proj/src/a.py", "allow", "workspace.writable", "p.toml:2"),
    ("read", "/home/ann/proj/.git/hooks/pre-commit", "allow", "workspace.writable", "p.toml:2"),
    # 5. writes: read_only wins over writable
    ("write", "/home/ann/proj/.git/hooks/pre-commit", "deny", "files.read_only", "p.toml:10"),
    ("create", "/home/ann/proj/.git/hooks/post-checkout", "deny", "files.read_only", "p.toml:10"),
    ("delete", "/home/ann/proj/.git/hooks", "deny", "files.read_only", "p.toml:10"),
    ("write", "/tmp/shared/f", "deny", "files.read_only", "p.toml:10"),
    ("write", "/home/ann/proj/src/a.py", "allow", "workspace.writable", "p.toml:2"),
    ("create", "/tmp/new", "allow", "workspace.writable", "p.toml:2"),
    ("delete", "/home/ann/.cache/pip/x", "allow", "workspace.writable", "p.toml:2"),
    ("write", "/dev/null", "allow", "workspace.writable", "p.toml:2"),
    ("write", "/dev/nullx", "deny", "jail.outside_writable", None),
    ("write", "/home/ann/notes.txt", "deny", "jail.outside_writable", None),
    ("create", "/home/ann/proj2/x", "deny", "jail.outside_writable", None),
    ("delete", "/etc/passwd", "deny", "jail.outside_writable", None),
    # link: read the source, and writes through the new name must be allowed too
    ("link", "/home/ann/proj/a.txt", "allow", "workspace.writable", "p.toml:2"),
    ("link", "/home/ann/.bashrc", "deny", "jail.outside_writable", None),
    ("link", "/home/ann/proj/.git/hooks/pre-commit", "deny", "files.read_only", "p.toml:10"),
    # moving a directory away would take denied or read-only contents with it
    ("delete", "/home/ann/proj", "deny", "files.deny", "p.toml:8"),
    ("delete", "/tmp", "deny", "files.read_only", "p.toml:10"),
    # normalised before matching
    ("read", "/home/ann/proj/../.ssh/id_rsa", "deny", "files.deny", "p.toml:6"),
    ("read", "//home//ann/.ssh/", "deny", "files.deny", "p.toml:6"),
    ("write", "/home/ann/proj/./x", "allow", "workspace.writable", "p.toml:2"),
    # objects that are not files
    ("read", "pipe:[1234]", "allow", "jail.not_a_path", None),
    ("write", "socket:[99]", "allow", "jail.not_a_path", None),
    ("read", "anon_inode:[eventfd]", "allow", "jail.not_a_path", None),
    ("read", "anon_inode:inotify", "allow", "jail.not_a_path", None),
    ("read", "net:[4026531840]", "allow", "jail.not_a_path", None),
    # anything else that is not absolute: refused (fail closed)
    ("read", "relative/path", "deny", "jail.not_absolute", None),
    ("read", "", "deny", "jail.not_absolute", None),
    ("write", "pipe:[x]", "deny", "jail.not_absolute", None),
    ("read", "foo:[1]", "deny", "jail.not_absolute", None),
]


@pytest.mark.parametrize(("access", "path", "action", "kind", "where"), TABLE)
def test_decision_table(access: str, path: str, action: str, kind: str, where: str | None) -> None:
    verdict = decide(make_policy(), access, path)
    assert (verdict.action.value, verdict.rule.kind) == (action, kind), verdict
    if where is not None:
        assert verdict.rule.where == where
    assert verdict.reason  # always a sentence to show


def test_a_foreign_process_comes_first() -> None:
    verdict = decide(make_policy(), "read", "/proc/1/environ", foreign_process=True)
    assert verdict.action is Action.DENY and verdict.rule.kind == "jail.foreign_process"
    assert verdict.rule.source == "<jail>" and verdict.rule.line == 0
    assert "outside the sandbox" in verdict.reason
    # even for a path that would otherwise be writable
    assert decide(make_policy(), "write", "/tmp/x", foreign_process=True).rule.kind == "jail.foreign_process"


@pytest.mark.parametrize("access", list(Access))
def test_the_state_dir_is_untouchable(access: Access) -> None:
    text = PROJECT.replace('"~/.cache"', '"~"')  # even if the whole home is writable
    verdict = decide(make_policy(text), access.value, str(STATE / "sessions/x.jsonl"))
    assert verdict.action is Action.DENY and verdict.rule.kind == "jail.state"
    assert decide(make_policy(text), access.value, str(STATE)).rule.kind == "jail.state"


def test_directories_holding_the_state_cannot_be_moved() -> None:
    text = PROJECT.replace('"~/.cache"', '"~"')
    policy = make_policy(text)
    for parent in ("/home/ann/.local/state", "/home/ann/.local", "/home/ann"):
        assert decide(policy, "delete", parent).rule.kind == "jail.state", parent
    assert decide(policy, "write", "/home/ann/.local/x").action is Action.ALLOW
    assert decide(policy, "delete", "/home/ann/.local/share").action is Action.ALLOW


@pytest.mark.parametrize(("access", "action"), [
    ("read", "allow"), ("write", "deny"), ("create", "deny"), ("delete", "deny"), ("link", "deny")])
def test_profile_files_in_use_are_read_only(access: str, action: str) -> None:
    policy = make_policy(protected_files=(PROFILE_FILE,))
    verdict = decide(policy, access, str(PROFILE_FILE))
    assert verdict.action.value == action
    if action == "deny":
        assert verdict.rule.kind == "jail.protected"


def test_a_directory_holding_a_profile_file_cannot_be_deleted() -> None:
    policy = make_policy(protected_files=(WS / "conf" / "shared.toml",))
    assert decide(policy, "delete", str(WS / "conf")).rule.kind == "jail.protected"
    assert decide(policy, "delete", str(WS / "other")).action is Action.ALLOW
    assert decide(policy, "create", str(WS / "conf" / "new")).action is Action.ALLOW


@pytest.mark.parametrize(("access", "action"), [
    ("read", "allow"), ("write", "deny"), ("create", "deny"), ("delete", "deny")])
def test_the_config_dir_is_read_only(access: str, action: str) -> None:
    text = PROJECT.replace('"~/.cache"', '"~/.config"')
    verdict = decide(make_policy(text), access, str(CONFIG / "jail.toml"))
    assert verdict.action.value == action
    if action == "deny":
        assert verdict.rule.kind == "jail.config"


def test_protected_inodes_catch_other_names() -> None:
    policy = make_policy(protected_inodes=frozenset({(1, 42)}))
    other_name = "/home/ann/proj/innocent.toml"
    assert decide(policy, "write", other_name, inode=(1, 42)).rule.kind == "jail.protected"
    assert decide(policy, "link", other_name, inode=(1, 42)).rule.kind == "jail.protected"
    assert decide(policy, "read", other_name, inode=(1, 42)).action is Action.ALLOW
    assert decide(policy, "write", other_name, inode=(1, 43)).action is Action.ALLOW


def test_denied_inodes_catch_hard_links_to_secrets() -> None:
    policy = make_policy(denied_inodes=frozenset({(7, 9)}))
    for access in ("read", "write", "link"):
        verdict = decide(policy, access, "/home/ann/proj/copy-of-key", inode=(7, 9))
        assert verdict.action is Action.DENY and verdict.rule.kind == "jail.denied_inode", access
    # a path deny is reported as such even when the inode is also known
    assert decide(policy, "read", "/home/ann/.ssh/id_rsa", inode=(7, 9)).rule.kind == "files.deny"


def test_inode_checks_do_not_leak_through_the_cache() -> None:
    policy = make_policy(denied_inodes=frozenset({(7, 9)}))
    path = "/home/ann/proj/x"
    assert decide(policy, "read", path, inode=(1, 1)).action is Action.ALLOW
    assert decide(policy, "read", path, inode=(7, 9)).action is Action.DENY
    assert decide(policy, "read", path).action is Action.ALLOW


def test_readable_list_limits_reads() -> None:
    text = PROJECT + 'readable = ["/usr", "/etc", "/home/ann/proj/../docs"]\n'
    policy = make_policy(text)
    assert decide(policy, "read", "/usr/bin/ls").rule.kind == "files.readable"
    assert decide(policy, "read", "/home/ann/docs/a").action is Action.ALLOW
    assert decide(policy, "read", "/home/ann/notes").rule.kind == "jail.outside_readable"
    assert decide(policy, "read", "/var/log/syslog").action is Action.DENY
    # writable places are readable
    assert decide(policy, "read", "/tmp/x").action is Action.ALLOW
    assert decide(policy, "read", "/home/ann/proj/src").action is Action.ALLOW
    # deny still wins inside readable trees
    text = PROJECT.replace('"secrets",', '"secrets", "/etc/shadow",') + 'readable = ["/etc"]\n'
    assert decide(make_policy(text), "read", "/etc/shadow").rule.kind == "files.deny"
    # link of an unreadable file is refused as a read
    assert decide(policy, "link", "/home/ann/notes").rule.kind == "jail.outside_readable"


def test_decisions_are_cached_by_access_and_path() -> None:
    policy = make_policy()
    for _ in range(3):
        decide(policy, "read", "/etc/passwd")
        decide(policy, "write", "/etc/passwd")
    info = policy.cache_info()
    assert (info.misses, info.hits) == (2, 4)


def test_writable_roots_are_absolute_literals_minus_covered_ones() -> None:
    text = PROJECT.replace('"/dev/null"', '"/dev/null", "/tmp/shared/sub", "secrets/x"')
    roots = make_policy(text).writable_roots()
    assert roots == sorted(["/home/ann/proj", "/tmp", "/home/ann/.cache", "/dev/null"])


def test_deny_literals_skip_patterns_with_wildcards() -> None:
    assert make_policy().deny_literals() == ["/home/ann/.ssh", "/home/ann/proj/secrets"]


def test_access_given_as_plain_string_is_accepted() -> None:
    policy = make_policy(protected_files=(PROFILE_FILE,))
    verdict = policy.decide_file(FileEvent("write", str(PROFILE_FILE), inode=(1, 1)))  # type: ignore[arg-type]
    assert verdict.rule.kind == "jail.protected"


def test_for_person_uses_the_xdg_dirs() -> None:
    ctx = PolicyContext.for_person(home=HOME, env={"XDG_STATE_HOME": "/st"})
    assert ctx.state_dir == Path("/st/jail") and ctx.config_dir == CONFIG


def test_symlinked_denied_places_are_denied_at_their_real_path_too() -> None:
    policy = make_policy(deny_aliases=(("/home/ann/.ssh", "/home/ann/dotfiles/ssh"),
                                       ("/not/a/deny/rule", "/home/ann/proj/x")))
    verdict = decide(policy, "read", "/home/ann/dotfiles/ssh/id_rsa")
    assert verdict.action is Action.DENY
    assert verdict.rule.pattern == "~/.ssh" and verdict.rule.where == "p.toml:6"
    assert decide(policy, "read", "/home/ann/dotfiles/sshx").action is Action.ALLOW
    assert decide(policy, "write", "/home/ann/proj/x").action is Action.ALLOW  # not a deny literal
    # the directory holding the real store cannot be moved away either
    text = PROJECT.replace('"~/.cache"', '"~/dotfiles"')
    policy = make_policy(text, deny_aliases=(("/home/ann/.ssh", "/home/ann/dotfiles/ssh"),))
    assert decide(policy, "delete", "/home/ann/dotfiles/ssh").rule.pattern == "~/.ssh"
    assert decide(policy, "delete", "/home/ann/dotfiles").rule.pattern == "~/.ssh"
    assert decide(policy, "write", "/home/ann/dotfiles/vimrc").action is Action.ALLOW


def test_private_dirs_are_out_of_reach_like_jails_state(tmp_path):
    from jail.policy import Access, Action, FileEvent, Policy, PolicyContext
    from jail.profile import load_profile

    home = tmp_path / "home"
    home.mkdir()
    loaded = load_profile(cwd=tmp_path, home=home, env={}, profile="default")
    sockets = tmp_path / "run" / "jail"
    ctx = PolicyContext(home=home, state_dir=home / ".local/state/jail", config_dir=home / ".config/jail",
                        private_dirs=(sockets,))
    policy = Policy.from_profile(loaded.profile, ctx)
    for access in Access:
        verdict = policy.decide_file(FileEvent(access, str(sockets / "s.sock")))
        assert verdict.action is Action.DENY and verdict.rule.kind.startswith("jail."), access
    event = FileEvent(Access.DELETE, str(sockets.parent), is_dir=True)
    assert policy.decide_file(event).action is Action.DENY
