"""The locator gives every key and array element its line, whatever the layout."""

from __future__ import annotations

import textwrap

import pytest
import tomli

from jail.profile.locate import line_of, locate

pytestmark = pytest.mark.unit

AWKWARD = textwrap.dedent('''\
    # a comment with "quotes" and [brackets]
    extends = ["default"]  # trailing [comment]
    description = """multi
    line "quoted" [not a table]
    deny = ["not a key"]
    """"

    [workspace]
    writable = [
      ".",   # here, with a comma, inside
      '/tmp',

      "~/.cache",
    ]

    [files]
    deny = ["~/.ssh", { path = "~/.aws", reason = 'a "quoted" reason',
       match = ["~/.aws/credentials"],
       no_match = ["~/.awsome"] },
      "~/.ssh"]
    "read_only" = [ \'\'\'**/.git/hooks\'\'\' ]
    readable = ["a\\"b]", 'c', """d""",
    ]

    [ exec ]
    a.b . c = 1979-05-27 07:32:00
    "x y".'z' = { q = [1, [2, 3]], r = "s" }
    ''')


def test_awkward_layout_parses_as_toml() -> None:
    data = tomli.loads(AWKWARD)
    assert data["files"]["deny"][2] == "~/.ssh"


@pytest.mark.parametrize(("path", "line"), [
    (("extends",), 2),
    (("extends", 0), 2),
    (("description",), 3),
    (("workspace",), 8),
    (("workspace", "writable"), 9),
    (("workspace", "writable", 0), 10),
    (("workspace", "writable", 1), 11),
    (("workspace", "writable", 2), 13),
    (("files",), 16),
    (("files", "deny", 0), 17),
    (("files", "deny", 1), 17),
    (("files", "deny", 1, "path"), 17),
    (("files", "deny", 1, "reason"), 17),
    (("files", "deny", 1, "match", 0), 18),
    (("files", "deny", 1, "no_match"), 19),
    (("files", "deny", 2), 20),  # the same literal as element 0, told apart
    (("files", "read_only"), 21),
    (("files", "read_only", 0), 21),
    (("files", "readable", 1), 22),
    (("files", "readable", 2), 22),
    (("exec",), 25),
    (("exec", "a", "b", "c"), 26),
    (("exec", "x y", "z", "q", 1, 0), 27),
    (("exec", "x y", "z", "r"), 27),
])
def test_lines(path: tuple, line: int) -> None:
    assert locate(AWKWARD)[path] == line


def test_a_multiline_string_hides_what_looks_like_keys() -> None:
    positions = locate(AWKWARD)
    assert ("deny",) not in positions


def test_dotted_keys_at_the_top_level() -> None:
    text = 'description = "x"\n\nfiles.deny = [\n  "~/.ssh",\n]\nfiles . read_only = ["a"]\n'
    positions = locate(text)
    assert positions[("files",)] == 3
    assert positions[("files", "deny", 0)] == 4
    assert positions[("files", "read_only")] == 6


def test_inline_table_for_a_whole_section() -> None:
    text = 'workspace = {\n  writable = [".",\n "/tmp"] }\n'
    positions = locate(text)
    assert positions[("workspace", "writable", 1)] == 3


def test_escaped_quotes_and_backslashes_in_basic_strings() -> None:
    text = 'a = ["x\\\\", "y\\"z",\n "w"]\nb = 1\n'
    assert tomli.loads(text)["a"] == ["x\\", 'y"z', "w"]
    positions = locate(text)
    assert positions[("a", 2)] == 2
    assert positions[("b",)] == 3


def test_crlf_line_endings() -> None:
    text = '[files]\r\ndeny = [\r\n  "~/.ssh",\r\n  "~/.aws",\r\n]\r\n'
    assert locate(text)[("files", "deny", 1)] == 4


def test_array_of_tables_gets_an_index() -> None:
    text = "[[x]]\na = 1\n[[x]]\na = 2\n"
    positions = locate(text)
    assert positions[("x", 1, "a")] == 4


def test_line_of_falls_back_to_the_nearest_ancestor() -> None:
    positions = {("files",): 3, ("files", "deny"): 4}
    assert line_of(positions, ("files", "deny", 7, "path")) == 4
    assert line_of(positions, ("nothing",)) == 1


def test_garbage_does_not_raise() -> None:
    assert locate("[unclosed\nx = ") == {}
    assert locate('a = "unterminated\n') == {("a",): 1}
