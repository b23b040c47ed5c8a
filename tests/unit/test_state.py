"""XDG locations and private directories."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jail.errors import JailError
from jail.state import config_dir, ensure_private_dir, sessions_dir, state_dir

pytestmark = pytest.mark.unit

HOME = Path("/home/someone")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, HOME / ".local/state/jail"),
    ({"XDG_STATE_HOME": "/var/xdg"}, Path("/var/xdg/jail")),
    ({"XDG_STATE_HOME": ""}, HOME / ".local/state/jail"),
    ({"XDG_STATE_HOME": "relative/dir"}, HOME / ".local/state/jail"),
    ({"XDG_CONFIG_HOME": "/etc/xdg"}, HOME / ".local/state/jail"),
])
def test_state_dir(env, expected):
    assert state_dir(env, HOME) == expected


@pytest.mark.parametrize(("env", "expected"), [
    ({}, HOME / ".config/jail"),
    ({"XDG_CONFIG_HOME": "/cfg"}, Path("/cfg/jail")),
    ({"XDG_CONFIG_HOME": "cfg"}, HOME / ".config/jail"),
    ({"XDG_STATE_HOME": "/state"}, HOME / ".config/jail"),
])
def test_config_dir(env, expected):
    assert config_dir(env, HOME) == expected


def test_sessions_dir_is_under_state_dir():
    env = {"XDG_STATE_HOME": "/s"}
    assert sessions_dir(env, HOME) == Path("/s/jail/sessions")
    assert sessions_dir({}, HOME) == HOME / ".local/state/jail/sessions"


@given(st.text(min_size=1).filter(lambda s: "\0" not in s))
def test_only_absolute_xdg_values_are_used(value):
    result = state_dir({"XDG_STATE_HOME": value}, HOME)
    if os.path.isabs(value):
        assert result == Path(value) / "jail"
    else:
        assert result == HOME / ".local/state/jail"


def test_ensure_private_dir_creates_every_missing_level_private(tmp_path):
    before = mode_of(tmp_path)
    old_umask = os.umask(0)  # a permissive umask must not leak into our modes
    try:
        target = tmp_path / "a" / "b" / "c"
        assert ensure_private_dir(target) == target
    finally:
        os.umask(old_umask)
    for path in (tmp_path / "a", tmp_path / "a/b", target):
        assert path.is_dir()
        assert mode_of(path) == 0o700
    assert mode_of(tmp_path) == before  # an existing parent is left alone


def test_ensure_private_dir_tightens_an_existing_dir(tmp_path):
    target = tmp_path / "open"
    target.mkdir()
    os.chmod(target, 0o755)
    ensure_private_dir(target)
    assert mode_of(target) == 0o700
    ensure_private_dir(target)  # idempotent
    assert mode_of(target) == 0o700


def test_ensure_private_dir_refuses_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(JailError, match="not a directory"):
        ensure_private_dir(target)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory away")
def test_ensure_private_dir_refuses_a_dir_owned_by_someone_else(tmp_path):
    target = tmp_path / "theirs"
    target.mkdir(mode=0o755)
    os.chown(target, 65534, 65534)
    with pytest.raises(JailError, match="owned by uid 65534") as caught:
        ensure_private_dir(target)
    assert caught.value.hint
    assert mode_of(target) == 0o755  # not ours to change
