"""Discovery, extends, layering and merging of profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from jail.profile import (
    builtin_descriptions,
    builtin_names,
    load_profile,
    merge,
    parse_text,
    read_builtin,
    run_examples,
)
from jail.profile.discover import config_dir, find_workspace, state_dir, user_base_path

pytestmark = pytest.mark.unit


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "home"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "deep").mkdir(parents=True)
    home.mkdir()
    config = tmp_path / "config"
    return {"home": home, "repo": repo, "config": config, "tmp": tmp_path}


def env_of(world: dict[str, Path]) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(world["config"])}


def patterns(rules) -> list[str]:
    return [rule.pattern for rule in rules]


def test_no_configuration_gives_the_default_profile(world) -> None:
    loaded = load_profile(cwd=world["repo"] / "src", home=world["home"], env=env_of(world))
    profile = loaded.profile
    assert profile.workspace == world["repo"]  # the git top-level above cwd
    assert "~/.ssh" in patterns(profile.deny)
    assert "." in patterns(profile.writable)
    assert profile.readable is None
    assert loaded.project_files == ()
    assert [p.name for p in loaded.all_files] == ["default.toml", "destructive.toml"]
    assert profile.deny[0].source == "default.toml"


def test_without_git_the_workspace_is_the_cwd(world) -> None:
    plain = world["tmp"] / "plain" / "dir"
    plain.mkdir(parents=True)
    assert load_profile(cwd=plain, home=world["home"], env={}).profile.workspace == plain


def test_a_git_repo_at_home_or_root_is_not_a_workspace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)
    (home / "notes").mkdir()
    assert find_workspace(home / "notes", home) == home / "notes"
    (tmp_path / "home" / "proj" / ".git").mkdir(parents=True)
    assert find_workspace(home / "proj", home) == home / "proj"


def test_git_file_marks_a_worktree(world) -> None:
    worktree = world["tmp"] / "wt"
    (worktree / "a").mkdir(parents=True)
    (worktree / ".git").write_text("gitdir: /elsewhere\n")
    assert find_workspace(worktree / "a", world["home"]) == worktree


def test_project_profile_found_upwards_sets_the_workspace(world) -> None:
    sub = world["repo"] / "src"
    (sub / "jail.toml").write_text('[workspace]\nwritable = ["~/notes"]\n')
    loaded = load_profile(cwd=sub / "deep", home=world["home"], env=env_of(world))
    assert loaded.profile.workspace == sub
    assert loaded.project_files == (sub / "jail.toml",)
    assert sub / "jail.toml" in loaded.all_files
    # No extends in the project: it is layered on the base (default) all the same.
    assert "~/.ssh" in patterns(loaded.profile.deny)
    assert patterns(loaded.profile.writable)[-1] == "~/notes"
    assert loaded.project_contents == {sub / "jail.toml": b'[workspace]\nwritable = ["~/notes"]\n'}


def test_user_base_extends_default_unless_it_says_otherwise(world) -> None:
    base = user_base_path(env_of(world), world["home"])
    base.parent.mkdir(parents=True)
    base.write_text('[files]\ndeny = ["~/private"]\n')
    loaded = load_profile(cwd=world["repo"], home=world["home"], env=env_of(world))
    assert {"~/.ssh", "~/private"} <= set(patterns(loaded.profile.deny))
    assert loaded.project_files == ()  # the person's own file is always trusted
    assert base in loaded.all_files
    base.write_text('extends = []\n[files]\ndeny = ["~/private"]\n')
    loaded = load_profile(cwd=world["repo"], home=world["home"], env=env_of(world))
    assert patterns(loaded.profile.deny) == ["~/private"]


def test_user_base_default_location(world) -> None:
    home = world["home"]
    assert user_base_path({}, home) == home / ".config" / "jail" / "jail.toml"
    assert user_base_path({"XDG_CONFIG_HOME": "relative"}, home) == home / ".config/jail/jail.toml"
    assert state_dir({}, home) == home / ".local/state/jail"
    assert state_dir({"XDG_STATE_HOME": "/s"}, home) == Path("/s/jail")
    assert config_dir({"XDG_CONFIG_HOME": "/c"}, home) == Path("/c/jail")


def test_profile_flag_with_a_builtin_name(world) -> None:
    (world["repo"] / "jail.toml").write_text('[workspace]\nwritable = ["/opt/x"]\n')
    loaded = load_profile(cwd=world["repo"] / "src", home=world["home"], env={}, profile="strict")
    assert loaded.profile.readable is not None
    assert "/opt/x" not in patterns(loaded.profile.writable)  # the project file was replaced
    assert loaded.project_files == ()
    assert loaded.profile.workspace == world["repo"]


def test_profile_flag_with_a_path(world) -> None:
    other = world["tmp"] / "profiles" / "agent.toml"
    other.parent.mkdir()
    other.write_text('extends = ["strict"]\n[workspace]\nwritable = ["/opt/y"]\n')
    loaded = load_profile(cwd=world["repo"] / "src", home=world["home"], env={},
                          profile=str(other))
    assert loaded.project_files == (other,)
    assert "/opt/y" in patterns(loaded.profile.writable)
    assert loaded.profile.workspace == world["repo"]  # not the directory of a far-away file
    local = world["repo"] / "src" / "mine.toml"
    local.write_text("")
    loaded = load_profile(cwd=world["repo"] / "src", home=world["home"], env={}, profile="mine.toml")
    assert loaded.profile.workspace == world["repo"] / "src"


def test_explicit_workspace_wins(world) -> None:
    loaded = load_profile(cwd=world["repo"], home=world["home"], env={}, workspace=world["tmp"])
    assert loaded.profile.workspace == world["tmp"]


def test_extended_project_files_need_trust_but_builtins_do_not(world) -> None:
    repo = world["repo"]
    (repo / "jail.toml").write_text('extends = ["strict", "conf/shared.toml"]\n')
    (repo / "conf").mkdir()
    (repo / "conf" / "shared.toml").write_text('extends = ["default"]\n[files]\ndeny = ["x"]\n')
    loaded = load_profile(cwd=repo, home=world["home"], env={})
    assert loaded.project_files == (repo / "jail.toml", repo / "conf" / "shared.toml")
    names = [p.name for p in loaded.profile.sources]
    assert names == ["destructive.toml", "default.toml", "strict.toml", "shared.toml", "jail.toml"]
    # default reached three ways, each of its rules kept once
    ssh = [r for r in loaded.profile.deny if r.pattern == "~/.ssh"]
    assert len(ssh) == 1


def test_readable_stays_unset_until_a_layer_sets_it() -> None:
    a = parse_text('[files]\ndeny = ["/a"]\n', "a.toml")
    b = parse_text('[files]\nreadable = ["/usr"]\n', "b.toml")
    c = parse_text('[files]\nreadable = []\n', "c.toml")
    assert merge([a], Path("/w")).readable is None
    assert patterns(merge([a, b], Path("/w")).readable) == ["/usr"]
    assert merge([a, c], Path("/w")).readable == ()


def test_merge_is_a_union_deduplicated_by_source_and_line() -> None:
    a = parse_text('description = "A"\n[files]\ndeny = ["/x", "/y"]\n', "a.toml")
    b = parse_text('[files]\ndeny = ["/x"]\n', "b.toml")
    merged = merge([a, b, a], Path("/w"))
    assert [r.where for r in merged.deny] == ["a.toml:3", "a.toml:3", "b.toml:2"]
    assert patterns(merged.deny) == ["/x", "/y", "/x"]
    assert merged.description == "A"


def test_builtins_are_listed_with_descriptions() -> None:
    assert {"default", "strict"} <= set(builtin_names())
    descriptions = builtin_descriptions()
    assert all(descriptions[name] for name in ("default", "strict"))
    assert read_builtin("../etc/passwd") is None
    assert read_builtin("nope") is None
    assert read_builtin("default").source == "default.toml"


def test_builtin_profiles_run_their_own_examples(tmp_path: Path) -> None:
    for name in builtin_names():
        loaded = load_profile(cwd=tmp_path, home=tmp_path / "h", env={}, profile=name)
        count, failures = run_examples(loaded.profile, home=tmp_path / "h")
        assert count > 0 and failures == [], name
