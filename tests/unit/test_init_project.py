"""`jail init`: project type detection and the rendered jail.toml, loaded by the real loader."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from jail.commands import init
from jail.errors import UsageError
from jail.profile import load_profile, trust_status

pytestmark = pytest.mark.unit

# (files at the project root, expected project types)
DETECTION = [
    (["pyproject.toml"], ["Python"]),
    (["setup.py"], ["Python"]),
    (["requirements.txt"], ["Python"]),
    (["package.json"], ["Node"]),
    (["go.mod"], ["Go"]),
    (["Cargo.toml"], ["Rust"]),
    (["pom.xml"], ["Java (Maven)"]),
    (["build.gradle.kts"], ["Java/Kotlin (Gradle)"]),
    (["Gemfile"], ["Ruby"]),
    (["pyproject.toml", "package.json"], ["Python", "Node"]),
    (["README.md"], []),
    ([], []),
]


@pytest.mark.parametrize(("files", "expected"), DETECTION)
def test_detect_project_types(tmp_path: Path, files, expected) -> None:
    for name in files:
        (tmp_path / name).write_text("")
    assert [kind.name for kind in init.detect_project_types(tmp_path)] == expected


def test_a_directory_named_like_a_marker_is_not_a_project(tmp_path: Path) -> None:
    (tmp_path / "package.json").mkdir()
    assert init.detect_project_types(tmp_path) == []


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> dict:
    home = tmp_path / "home"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(repo / "src")
    return {"home": home, "repo": repo, "env": {"XDG_CONFIG_HOME": str(tmp_path / "config")}}


@pytest.mark.parametrize("agent", [None, "claude", "codex"])
@pytest.mark.parametrize("files", [["pyproject.toml"], ["package.json", "Cargo.toml"], ["go.mod"], []])
def test_rendered_profile_loads_with_the_real_loader(project, files, agent) -> None:
    for name in files:
        (project["repo"] / name).write_text("")
    text = init.render(init.detect_project_types(project["repo"]), agent)
    (project["repo"] / "jail.toml").write_text(text)
    loaded = load_profile(cwd=project["repo"], home=project["home"], env=project["env"])
    profile = loaded.profile
    assert profile.workspace == project["repo"]
    writable = [rule.pattern for rule in profile.writable]
    assert "." in writable
    for kind in init.detect_project_types(project["repo"]):
        for place in kind.home:
            assert place.path in writable
    sources = [path.name for path in profile.sources]
    if agent:
        assert f"{agent}.toml" in sources
        assert any(rule.pattern for rule in profile.redact.passthrough)
    else:
        assert not any(name in sources for name in ("claude.toml", "codex.toml"))
    assert "~/.ssh" in [rule.pattern for rule in profile.deny]  # nothing of default is lost


def test_rendered_profile_explains_itself() -> None:
    kinds = [k for k in init.PROJECT_TYPES if k.name in ("Go", "Rust")]
    text = init.render(kinds, "claude")
    assert "# Detected: Go, Rust." in text
    assert 'extends = ["claude"]' in text
    assert "Claude Code" in text
    assert '"~/go/pkg/mod"' in text and '"~/.cargo/registry"' in text
    entries = [line for line in text.splitlines() if line.strip().startswith("{ path")]
    assert entries and all("reason = " in line for line in entries)


def run_init(agent=None, force=False) -> int:
    return init.run(argparse.Namespace(agent=agent, force=force))


def test_init_writes_at_the_project_root_and_trusts_it(project, capsys) -> None:
    (project["repo"] / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert run_init(agent="claude") == 0
    written = project["repo"] / "jail.toml"
    assert written.is_file()
    out = capsys.readouterr().out
    assert str(written) in out and "Python" in out
    loaded = load_profile(cwd=project["repo"], home=project["home"], env=project["env"])
    assert trust_status(loaded.project_contents).trusted


def test_init_never_overwrites_without_force(project) -> None:
    target = project["repo"] / "jail.toml"
    target.write_text("# mine\n")
    with pytest.raises(UsageError, match="exists"):
        run_init()
    assert target.read_text() == "# mine\n"
    assert run_init(force=True) == 0
    assert target.read_text().startswith("# jail profile for this project")


def test_init_refuses_an_unknown_agent(project) -> None:
    with pytest.raises(UsageError, match='unknown agent "clod"'):
        run_init(agent="clod")
    assert not (project["repo"] / "jail.toml").exists()
