"""`jail init` writes and trusts a jail.toml that `jail run` then uses without asking."""

from __future__ import annotations


def test_init_then_run(world) -> None:
    (world.workspace / "package.json").write_text('{"name": "shop"}\n')
    (world.home / ".npm").mkdir()
    done = world.jail("init", "--agent", "claude")
    assert done.returncode == 0, done.stderr
    assert (world.workspace / "jail.toml").is_file()
    assert "Detected: Node." in done.stdout
    # Trusted already: no --trust-project, no terminal, and the profile is in force.
    ran = world.run("sh", "-c", "touch ~/.npm/ok && touch ~/.claude.json && touch node_modules-made; "
                    "touch ~/not-allowed 2>/dev/null || echo refused")
    assert ran.returncode == 0, ran.stderr
    assert "refused" in ran.stdout
    assert (world.home / ".npm" / "ok").exists()
    assert (world.home / ".claude.json").exists()  # the claude layer the project extends
    assert not (world.home / "not-allowed").exists()


def test_a_changed_profile_is_no_longer_trusted(world) -> None:
    (world.workspace / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert world.jail("init").returncode == 0
    profile = world.workspace / "jail.toml"
    profile.write_text(profile.read_text() + '\n[files]\nreadable = ["/"]\n')
    ran = world.run("true")
    assert ran.returncode != 0
    assert "changed since you trusted it" in ran.stderr


def test_init_does_not_overwrite(world) -> None:
    (world.workspace / "jail.toml").write_text("# mine\n")
    done = world.jail("init")
    assert done.returncode != 0
    assert "exists" in done.stderr
    assert (world.workspace / "jail.toml").read_text() == "# mine\n"
