"""Grants made by answers, on a fake clock; and the "always" diff to the profile."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest
from approve_helpers import FakeClock, make_request
from hypothesis import given
from hypothesis import strategies as st

from jail.approve.grants import (
    GrantStore,
    always_writer,
    command_pattern,
    propose_always,
    render_always_diff,
    write_profile_edit,
)
from jail.approve.request import Answer, Decision
from jail.profile.trust import record_trust, trust_status

pytestmark = pytest.mark.unit


# (answer, minutes, seconds later, what the later request changes, granted?)
GRANT_TABLE = [
    (Answer.ALLOW_ONCE, None, 0, {"id": "r2"}, False),  # once: only the asking request
    (Answer.ALLOW_ONCE, None, 0, {}, True),  # ... which it answers one time
    (Answer.ALLOW_SESSION, None, 0, {"id": "r2"}, True),
    (Answer.ALLOW_SESSION, None, 10 ** 6, {"id": "r2"}, True),
    (Answer.ALLOW_SESSION, None, 0, {"id": "r2", "argv": ["terraform", "destroy", "-auto-approve"]}, False),
    (Answer.ALLOW_SESSION, None, 0, {"id": "r2", "cwd": "/elsewhere"}, False),
    (Answer.ALLOW_SESSION, None, 0, {"id": "r2", "exe": "/tmp/terraform"}, False),
    (Answer.ALLOW_SESSION, None, 0, {"id": "r2", "kind": "connect"}, False),
    (Answer.ALLOW_SESSION, None, 0, {"id": "r2", "pid": 99, "rule_where": "x:1"}, True),
    (Answer.ALLOW_FOR, 15, 15 * 60 - 1, {"id": "r2"}, True),
    (Answer.ALLOW_FOR, 15, 15 * 60, {"id": "r2"}, False),
    (Answer.ALWAYS, None, 10 ** 6, {"id": "r2"}, True),  # the session goes on allowing it
    (Answer.DENY, None, 0, {}, False),  # a denial is not remembered
]


@pytest.mark.parametrize(("answer", "minutes", "later", "changes", "granted"), GRANT_TABLE)
def test_grant_table(answer, minutes, later, changes, granted) -> None:
    clock = FakeClock()
    store = GrantStore(clock)
    asking = make_request()
    store.record(asking, Decision(answer, minutes=minutes, answerer="terminal", at=1.0))
    clock.now += later
    found = store.lookup(make_request(**changes))
    assert (found is not None) == granted
    if found is not None:
        assert found.answer is answer and found.granted_by == "r1" and found.answerer == "terminal"


def test_once_is_consumed() -> None:
    store = GrantStore(FakeClock())
    store.record(make_request(), Decision(Answer.ALLOW_ONCE))
    assert store.lookup(make_request()) is not None
    assert store.lookup(make_request()) is None


def test_a_shorter_grant_never_shortens_a_longer_one() -> None:
    clock = FakeClock()
    store = GrantStore(clock)
    store.record(make_request(), Decision(Answer.ALLOW_SESSION))
    store.record(make_request(id="r2"), Decision(Answer.ALLOW_FOR, minutes=1))
    clock.now += 3600
    assert store.lookup(make_request(id="r3")).answer is Answer.ALLOW_SESSION


def test_a_grant_does_not_make_grants() -> None:
    store = GrantStore(FakeClock())
    store.record(make_request(), Decision(Answer.ALLOW_SESSION, granted_by="r0"))
    assert store.lookup(make_request(id="r2")) is None


@pytest.mark.parametrize(("argv", "exe", "pattern"), [
    (["terraform", "destroy"], "/usr/bin/terraform", "terraform destroy"),
    (["/usr/local/bin/terraform", "destroy"], "/usr/bin/terraform", "terraform destroy"),
    (["rm", "-rf", "/home/u/*.jpg"], "/bin/rm", "rm -rf '/home/u/[*].jpg'"),
    (["ls", "a?[b]"], "/bin/ls", "ls 'a[?][[]b]'"),
    (["psql", "-c", "DROP TABLE users"], "/usr/bin/psql", "psql -c 'DROP TABLE users'"),
    (["sh", "-c", "echo 'hi'"], "/bin/sh", "sh -c 'echo '\"'\"'hi'\"'\"''"),
    (["", "x"], "/usr/bin/tool", "tool x"),
    (["git", ""], "/usr/bin/git", "git ''"),
    (["terraform", "destroy", "-target=a b"], "/usr/bin/terraform", "terraform destroy '-target=a b'"),
])
def test_command_pattern_states_exactly_the_command(argv, exe, pattern) -> None:
    assert command_pattern(make_request(argv=argv, exe=exe)) == pattern


@pytest.mark.parametrize("argv", [["rm", "--", "-x"], ["tool", "---x"], ["tool", "--=1"], ["-x"]])
def test_commands_no_pattern_can_state(argv) -> None:
    with pytest.raises(ValueError, match="no exec rule"):
        command_pattern(make_request(argv=argv, exe="/bin/" + argv[0]))


def test_the_pattern_matches_the_command_in_the_exec_rules() -> None:
    pattern_module = pytest.importorskip("jail.execrules.pattern")
    for argv in (["terraform", "destroy", "-auto-approve", "-target=module.db"],
                 ["rm", "-rf", "/home/u/*.jpg"], ["psql", "-c", "DROP TABLE users; -- x"],
                 ["ls", "a?[b]", "-"], ["git", "push", "--force", "origin", "main"]):
        parsed = pattern_module.parse_pattern(command_pattern(make_request(argv=argv)))
        assert parsed.program == argv[0]
        assert pattern_module.matches(parsed, pattern_module.Arguments.of(argv[1:]), argv[0], strict=True)
        other = [*argv[:-1], argv[-1] + "x"]
        assert not pattern_module.matches(parsed, pattern_module.Arguments.of(other[1:]), argv[0],
                                          strict=True)


PROFILES = {
    "empty": "",
    "no exec": 'extends = ["default"]\n\n[files]\ndeny = ["~/.x"]\n',
    "ask only": '[exec]\nask = ["terraform destroy *"]\n\n[network]\nallow = []\n',
    "multi-line": '[exec]\nallow = [\n  "make *",\n  "npm test",\n]\nask = ["x"]\n',
    "no trailing comma": '[exec]\nallow = [\n  "make *",\n  "npm test"\n]\n',
    "comment after last": '[exec]\nallow = [\n  "make *"  # builds\n]\n',
    "bracket on last line": '[exec]\nallow = [\n  "make *",\n  "npm test"]\n',
    "one line": '[exec] # commands\nallow = ["make *", \'npm test\']\n[files]\ndeny = []\n',
    "empty one line": "[exec]\nallow = []\n",
    "tricky strings": '[exec]\nallow = [\n  "a]b # not a comment",\n  \'\'\'multi\n]line\'\'\',\n]\n',
    "no newline at end": '[exec]\nallow = ["make *"]',
    "subtable after": '[exec]\nallow = ["make"]\n[exec.env]\nX = "1"\n',
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_always_adds_the_rule_and_nothing_else(name) -> None:
    text = PROFILES[name]
    request = make_request(argv=["terraform", "destroy", "-target=a b"])
    new_text, diff = render_always_diff("jail.toml", text, request)
    before, after = tomllib.loads(text), tomllib.loads(new_text)
    rule = command_pattern(request)
    assert after["exec"]["allow"] == [*before.get("exec", {}).get("allow", []), rule]
    assert {k: v for k, v in after.items() if k != "exec"} == {k: v for k, v in before.items() if k != "exec"}
    assert diff.startswith("--- jail.toml\n+++ jail.toml\n")
    assert all(line.startswith(("+", " ", "@", "-", "\\")) for line in diff.splitlines())
    removed = [line for line in diff.splitlines()[2:] if line.startswith("-")]
    assert len(removed) <= 1  # at most the line holding the array's end is rewritten


def test_comments_and_order_survive() -> None:
    text = "# my profile\n[exec]\nallow = [\n  \"make *\",  # builds\n]\n"
    new_text, _ = render_always_diff("jail.toml", text, make_request())
    assert new_text.startswith("# my profile\n[exec]\nallow = [\n  \"make *\",  # builds\n")
    assert '  "terraform destroy",  # destructive.toml:42 (destroys infrastructure)\n]' in new_text


def test_already_allowed_is_no_change() -> None:
    text = '[exec]\nallow = ["terraform destroy"]\n'
    assert render_always_diff("jail.toml", text, make_request()) == (text, "")


@pytest.mark.parametrize("text", [
    'exec = { allow = ["make"] }\n',  # inline table: cannot add a [exec] header
    "exec.allow = ['make']\n",
    "[exec]\nallow = 'make'\n",
    "[exec\n",  # not TOML at all
])
def test_profiles_that_cannot_be_edited_as_text_are_refused(text) -> None:
    with pytest.raises(ValueError):
        render_always_diff("jail.toml", text, make_request())


@given(argv=st.lists(st.text().filter(lambda w: w != "--" and not w.startswith("-")), min_size=1,
                     max_size=4), name=st.sampled_from(sorted(PROFILES)))
def test_any_argv_becomes_one_valid_rule(argv, name) -> None:
    request = make_request(argv=["tool", *argv])
    new_text, _ = render_always_diff("jail.toml", PROFILES[name], request)
    assert tomllib.loads(new_text)["exec"]["allow"][-1] == command_pattern(request)


def test_propose_reads_the_file(tmp_path) -> None:
    path = tmp_path / "jail.toml"
    missing = propose_always(path, make_request())
    assert missing.old_text == "" and "[exec]" in missing.new_text and missing.rule == "terraform destroy"
    path.write_text(PROFILES["multi-line"])
    edit = propose_always(path, make_request())
    assert edit.old_text == PROFILES["multi-line"] and edit.path == str(path)
    assert replace(edit, diff="") != edit


def test_a_script_run_by_its_interpreter_is_named_as_the_script() -> None:
    request = make_request(exe="/usr/bin/dash", argv=["/bin/sh", "/work/bin/terraform", "destroy"],
                           target="/work/bin/terraform")
    assert command_pattern(request) == "terraform destroy"


def test_a_confirmed_edit_is_written_whole_keeping_the_mode(tmp_path) -> None:
    path = tmp_path / "jail.toml"
    path.write_text(PROFILES["multi-line"])
    path.chmod(0o640)
    edit = propose_always(path, make_request())
    assert write_profile_edit(edit) == edit.new_text.encode()
    assert path.read_text() == edit.new_text and path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["jail.toml"]  # no temporary file left


def test_an_edit_of_a_file_changed_since_it_was_shown_writes_nothing(tmp_path) -> None:
    path = tmp_path / "jail.toml"
    path.write_text(PROFILES["multi-line"])
    edit = propose_always(path, make_request())
    path.write_text(PROFILES["multi-line"] + "# changed\n")
    with pytest.raises(ValueError, match="changed since"):
        write_profile_edit(edit)
    assert path.read_text().endswith("# changed\n")


def test_always_re_pins_trust_to_the_new_bytes_and_audits(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "jail.toml"
    path.write_text(PROFILES["multi-line"])
    trusted = {path: path.read_bytes()}
    record_trust(trusted)
    records = []
    write = always_writer(trusted, lambda **fields: records.append(fields))
    edit = propose_always(path, make_request())
    write(edit)
    assert trust_status([path]).trusted  # the next run does not ask again
    assert records == [{"event": "profile-edit", "path": str(path), "rule": "terraform destroy",
                        "diff": edit.diff}]
    path.write_text(edit.new_text + "# another change\n")
    assert not trust_status([path]).trusted  # only the bytes the person saw
