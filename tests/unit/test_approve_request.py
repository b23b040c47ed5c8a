"""Requests and decisions: frozen, validated, and the same after a trip over the socket."""

from __future__ import annotations

import json

import pytest
from approve_helpers import make_request
from hypothesis import given
from hypothesis import strategies as st

from jail.approve.request import (
    Answer,
    ApprovalRequest,
    Decision,
    ProcessLink,
    ProfileEdit,
    shell_word,
    visible,
)

pytestmark = pytest.mark.unit


def test_lists_and_dicts_become_tuples_so_a_shown_request_cannot_change() -> None:
    request = make_request()
    assert request.argv == ("terraform", "destroy")
    assert request.chain == (ProcessLink(42, "terraform"), ProcessLink(7, "claude"))
    hash(request)


@given(argv=st.lists(st.text(), min_size=1, max_size=5), cwd=st.text(), created=st.floats(0, 2e9))
def test_request_json_round_trip(argv, cwd, created) -> None:
    request = make_request(argv=argv, cwd=cwd, created=created)
    assert ApprovalRequest.from_json(json.loads(json.dumps(request.to_json()))) == request


@pytest.mark.parametrize("decision", [
    Decision(Answer.ALLOW_ONCE, answerer="terminal", at=5.0),
    Decision(Answer.ALLOW_SESSION, answerer="jail approve (pid 1, uid 0)", at=5.0),
    Decision(Answer.ALLOW_FOR, minutes=15, answerer="terminal", at=5.0),
    Decision(Answer.ALWAYS, at=5.0, edit=ProfileEdit("/p/jail.toml", "x", "", "[exec]\n", "diff")),
    Decision(Answer.DENY, answerer="timeout", at=5.0, granted_by=None),
    Decision(Answer.ALLOW_SESSION, at=5.0, granted_by="r0"),
])
def test_decision_json_round_trip(decision) -> None:
    assert Decision.from_json(json.loads(json.dumps(decision.to_json()))) == decision


@pytest.mark.parametrize(("data", "message"), [
    ({"id": 1}, "'id'"),
    ({"kind": "write"}, "kind"),
    ({"argv": ["ok", 3]}, "'argv'"),
    ({"pid": True}, "'pid'"),
    ({"chain": [{"pid": 1}]}, "'comm'"),
])
def test_request_from_json_rejects_bad_fields(data, message) -> None:
    with pytest.raises(ValueError, match=message):
        ApprovalRequest.from_json({**make_request().to_json(), **data})


@pytest.mark.parametrize(("answer", "minutes", "ok"), [
    (Answer.ALLOW_FOR, None, False), (Answer.ALLOW_FOR, 0, False), (Answer.ALLOW_FOR, True, False),
    (Answer.ALLOW_FOR, 1, True), (Answer.ALLOW_FOR, 7 * 24 * 60 + 1, False),
    (Answer.ALLOW_ONCE, 5, False), (Answer.DENY, None, True),
])
def test_minutes_go_with_allow_for_only(answer, minutes, ok) -> None:
    if ok:
        Decision(answer, minutes=minutes)
    else:
        with pytest.raises(ValueError):
            Decision(answer, minutes=minutes)


def test_unknown_answer_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'once'"):
        Decision.from_json({"answer": "yes"})
    assert not Decision(Answer.DENY).allowed and Decision(Answer.ALLOW_ONCE).allowed


@pytest.mark.parametrize(("text", "shown"), [
    ("plain", "plain"),
    ("a\x1b[31mred", "a\\x1b[31mred"),
    ("line\nbreak", "line\\nbreak"),
    ("rm\u202etxt.exe", "rm\\u202etxt.exe"),  # right-to-left override
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("[bold]markup[/]", "[bold]markup[/]"),  # shown as it is; the TUI never parses markup
])
def test_visible_escapes_what_could_hide_or_fake_text(text, shown) -> None:
    assert visible(text) == shown


@pytest.mark.parametrize(("word", "shown"), [
    ("destroy", "destroy"), ("two words", "'two words'"), ("", "''"),
    ("it's", "'it'\"'\"'s'"), ("a\nb", "$'a\\nb'"),
])
def test_shell_word(word, shown) -> None:
    assert shell_word(word) == shown


@given(st.text())
def test_visible_output_is_printable(text) -> None:
    assert visible(text).isprintable()


def test_the_broker_socket_and_command_load_no_tui_and_no_mechanism() -> None:
    """The TUI is imported only when a prompt is shown; approvals never reach
    for the supervisor or the native helper (they are a client of them)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json, sys\n"
            "import jail.approve, jail.approve.server, jail.approve.client, jail.commands.approve\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(result.stdout)
    forbidden = ("textual", "jail.supervisor", "jail.native", "jail._native")
    assert [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)] == []
