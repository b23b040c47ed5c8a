"""Every invalid profile is one clear error naming file and line, never a traceback."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from jail.errors import ExitCode, ProfileError
from jail.profile import CombinedProfileError, load_profile, parse_text

pytestmark = pytest.mark.unit


def load(tmp_path: Path, text: str, *, extra: dict[str, str] | None = None):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    (project / "jail.toml").write_text(textwrap.dedent(text))
    for name, content in (extra or {}).items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(content))
    return load_profile(cwd=project, home=home, env={})


# (profile text, line, message fragment, hint fragment or None)
CASES = [
    ("[workspace]\nwrtable = ['.']\n", 2, 'unknown key "wrtable" in [workspace]',
     'did you mean "writable"?'),
    ("[files]\ndeny = []\nread_olny = []\n", 3, 'unknown key "read_olny" in [files]',
     'did you mean "read_only"?'),
    ("extend = ['default']\n", 1, 'unknown key "extend"', 'did you mean "extends"?'),
    ("\n\nzzz = 1\n", 3, 'unknown key "zzz"', "expected one of: extends, description"),
    ("[file]\ndeny = []\n", 1, 'unknown key "file"', 'did you mean "files"?'),
    ("[files]\ndeny = [{ path = '~/.x', resaon = 'r' }]\n", 2, 'unknown key "resaon"',
     'did you mean "reason"?'),
    ("[exec]\nask = ['terraform destroy *']\nasks = []\n", 3, 'unknown key "asks" in [exec]',
     'did you mean "ask"?'),
    ("\n[network]\nallow = [\"github.com:0\"]\n", 3, "bad port", None),
    ("[network]\ndefault = \"maybe\"\n", 2, "must be one of", None),
    ("[redact]\npassthrough = ['MY KEY']\n", 2, '"MY KEY" is not an environment variable name', None),
    ("[redact]\n\nalways = ['**/[.env']\n", 3, 'bad pattern "**/[.env"', None),
    ("[redact]\nnevr = []\n", 2, 'unknown key "nevr" in [redact]', 'did you mean "never"?'),
    ("[redact]\ndisable = [3]\n", 2, 'each "redact.disable" entry must be a non-empty string', None),
    ("[[redact.rule]]\nid = 'acme'\ndescription = 'x'\nkeywords = ['acme']\nregex = '('\n", 2,
     'rule "acme": regex does not compile', None),
    ("[approval]\ntimeout = 'soon'\n", 2, '"approval.timeout" must be a duration', None),
    ("[approval]\nwhen_no_one_answers = 'ask'\n", 2, 'must be "deny" or "allow"', None),
    ("[approval]\ntimout = 5\n", 2, 'unknown key "timout" in [approval]', 'did you mean "timeout"?'),
    ("[files]\n\nredact = ['**/.env*']\n", 3, '"files.redact" is not supported yet', None),
    ("[workspace]\nwritable = '.'\n", 2, '"workspace.writable" must be an array of paths, not a string',
     "write writable = "),
    ("[workspace]\nwritable = [\n  '.',\n  3,\n]\n", 4,
     'each entry in "workspace.writable" must be a path', None),
    ("workspace = 3\n", 1, '"workspace" must be a table', None),
    ("extends = 'default'\n", 1, '"extends" must be an array', 'extends = ["default"]'),
    ("extends = [\n  'default',\n  1,\n]\n", 3, 'each "extends" entry', None),
    ("description = 5\n", 1, '"description" must be a string, not an integer', None),
    ("[files]\ndeny = [\n  { reason = 'no path' },\n]\n", 3, 'needs a "path"', None),
    ("[files]\ndeny = [{ path = 1 }]\n", 2, '"path" must be a string', None),
    ("[files]\ndeny = [{ path = '/x', reason = 2 }]\n", 2, '"reason" must be a string', None),
    ("[files]\ndeny = [{ path = '/x',\n  match = '/x/y' }]\n", 3,
     '"match" must be an array of example paths', None),
    ("[files]\ndeny = [{ path = '/x',\n  no_match = [\n '/a', 5] }]\n", 4,
     'each "no_match" example must be a path', None),
    ("[workspace]\nwritable = [\n  '.',\n  '~/.cache/*',\n]\n", 4,
     'writable places are plain paths, but "~/.cache/*" contains "*"', "read_only or deny"),
    ("[workspace]\nwritable = ['{a,b}']\n", 2, 'contains "{"', None),
    ("[workspace]\nwritable = ['~bob/x']\n", 2, "`~user` is not supported", None),
    ("[workspace]\nwritable = ['']\n", 2, "empty path", None),
    ("[files]\ndeny = [\n  '~/.ssh',\n  '/a/[bc',\n]\n", 4, 'bad pattern "/a/[bc": unclosed `[`', None),
    ("[files]\nread_only = ['/a/{b,c']\n", 2, "unclosed `{`", None),
    ("[files]\nreadable = ['']\n", 2, "empty path", None),
    ("[files]\ndeny = [{ path = '' }]\n", 2, "empty path", None),
    # TOML syntax errors keep tomli's line
    ("[files]\ndeny = [\n  '~/.ssh'\n  '~/.aws',\n]\n", 4, "invalid TOML", None),
    ("a = 1\nb = \n", 2, "invalid TOML: Invalid value", None),
    ("[files]\ndeny = []\ndeny = []\n", 3, "invalid TOML", None),
]


@pytest.mark.parametrize(("text", "line", "message", "hint"), CASES)
def test_error_names_file_line_and_what_is_wrong(tmp_path: Path, text: str, line: int, message: str,
                                                  hint: str | None) -> None:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, text)
    error = caught.value
    path = tmp_path / "proj" / "jail.toml"
    assert str(error).startswith(f"{path}:{line}: "), str(error)
    assert message in str(error)
    assert error.source == str(path) and error.line == line
    assert error.exit_code == ExitCode.INVALID
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_every_problem_in_a_file_is_listed(tmp_path: Path) -> None:
    text = "[workspace]\nwrtable = []\n[files]\ndeny = ['/a/[']\n[approval]\ntimeout = -1\n"
    with pytest.raises(CombinedProfileError) as caught:
        load(tmp_path, text)
    lines = sorted(error.line for error in caught.value.errors)
    assert lines == [2, 4, 6]
    assert "(and 2 more problems)" in str(caught.value)


def test_unknown_builtin_with_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, "# mine\nextends = [\n  'defualt',\n]\n")
    assert str(caught.value).startswith(f"{tmp_path}/proj/jail.toml:3: ")
    assert 'unknown built-in profile "defualt"' in str(caught.value)
    assert caught.value.hint == 'did you mean "default"?'


def test_unknown_builtin_lists_the_names(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, "extends = ['qqqqqq']\n")
    assert "default" in caught.value.hint and "strict" in caught.value.hint


def test_extends_cycle_names_the_chain_and_line(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, "extends = ['a.toml']\n", extra={
            "a.toml": "extends = ['sub/b.toml']\n",
            "sub/b.toml": "# b\n\nextends = ['default', '../jail.toml']\n",
        })
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/proj/sub/b.toml:3: extends cycle: ")
    assert message.endswith("jail.toml -> " + f"{tmp_path}/proj/a.toml -> {tmp_path}/proj/sub/b.toml"
                            + f" -> {tmp_path}/proj/jail.toml")


def test_a_file_extending_itself(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="extends cycle"):
        load(tmp_path, "extends = ['./jail.toml']\n")


def test_missing_extended_file_names_the_extends_line(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, "\nextends = ['nope.toml']\n")
    assert str(caught.value).startswith(f"{tmp_path}/proj/jail.toml:2: cannot read profile")


def test_errors_in_an_extended_file_name_that_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load(tmp_path, "extends = ['base.toml']\n", extra={"base.toml": "[files]\n\ndeny = 'x'\n"})
    assert str(caught.value).startswith(f"{tmp_path}/proj/base.toml:3: ")


def test_not_utf8(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "jail.toml").write_bytes(b"# ok\n# \xff\n")
    with pytest.raises(ProfileError, match=r"jail\.toml:2: not valid UTF-8"):
        load_profile(cwd=project, home=tmp_path, env={})


def test_unknown_profile_flag(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(cwd=tmp_path, home=tmp_path, env={}, profile="strcit")
    assert caught.value.hint == 'did you mean "strict"?'
    with pytest.raises(ProfileError, match="no profile file at"):
        load_profile(cwd=tmp_path, home=tmp_path, env={}, profile="./missing.toml")


def test_errors_in_the_user_base_name_it(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    (config / "jail").mkdir(parents=True)
    (config / "jail" / "jail.toml").write_text("[workspace]\nwritable = 1\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(cwd=tmp_path, home=tmp_path, env={"XDG_CONFIG_HOME": str(config)})
    assert str(caught.value).startswith(f"{config}/jail/jail.toml:2: ")


def test_parse_text_accepts_a_valid_file() -> None:
    parsed = parse_text(textwrap.dedent('''\
        description = "x"
        [workspace]
        writable = [".", "/tmp"]
        [files]
        deny = [
          { path = "~/.aws", reason = "AWS", match = ["~/.aws/credentials"], no_match = ["~/.awsome"] },
          "**/.env.production",
        ]
        read_only = ["**/.git/hooks"]
        '''), "t.toml")
    assert [r.line for r in parsed.writable] == [3, 3]
    aws, env = parsed.deny
    assert (aws.line, aws.reason, aws.match, aws.no_match) == (6, "AWS", ("~/.aws/credentials",),
                                                               ("~/.awsome",))
    assert env.where == "t.toml:7"
    assert parsed.readable is None and parsed.extends is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_user_base_is_an_error_not_skipped(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    (config / "jail").mkdir(parents=True)
    base = config / "jail" / "jail.toml"
    base.write_text('[files]\ndeny = ["~/private"]\n')
    base.chmod(0)
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(cwd=tmp_path, home=tmp_path, env={"XDG_CONFIG_HOME": str(config)})
