"""Glob patterns: what each form covers, ancestor matching, and the patterns refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from jail.profile.globs import GlobError, RuleMatcher, check_glob, compile_glob, normalize_path
from jail.profile.model import Rule

pytestmark = pytest.mark.unit

HOME = Path("/home/ann")
WORKSPACE = Path("/home/ann/proj")


def covers(pattern: str, path: str, *, literal: bool = False) -> bool:
    rule = Rule("files.deny", pattern, "t.toml", 1)
    return RuleMatcher([rule], home=HOME, workspace=WORKSPACE, literal=literal).match(path) is not None


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    # ~ and ancestor matching: a rule covers the path and everything below it
    ("~/.ssh", "/home/ann/.ssh", True),
    ("~/.ssh", "/home/ann/.ssh/id_rsa", True),
    ("~/.ssh", "/home/ann/.ssh/keys/deep/id_rsa", True),
    ("~/.ssh", "/home/ann/.sshrc", False),
    ("~/.ssh", "/home/ann", False),
    ("~", "/home/ann/anything", True),
    ("~/", "/home/ann/x", True),
    # absolute
    ("/etc/shadow", "/etc/shadow", True),
    ("/etc/shadow", "/etc/shadow-", False),
    ("/", "/anything/at/all", True),
    # relative = workspace root
    (".", "/home/ann/proj", True),
    (".", "/home/ann/proj/src/a.py", True),
    (".", "/home/ann/project", False),
    ("secrets", "/home/ann/proj/secrets/prod.key", True),
    ("secrets", "/home/ann/secrets", False),
    ("./a/../b", "/home/ann/proj/b/x", True),
    ("*.pem", "/home/ann/proj/key.pem", True),
    ("*.pem", "/home/ann/proj/sub/key.pem", False),
    # * stays in one component, matches dotfiles and the empty string
    ("/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_rsa_key", True),
    ("/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_rsa_key.pub", False),
    ("/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_a/b_key", False),
    ("/tmp/*", "/tmp/.hidden", True),
    ("/tmp/*", "/tmp", False),
    ("/a/*b", "/a/b", True),
    # ** any number of components, including none
    ("**/.env", "/.env", True),
    ("**/.env", "/home/ann/proj/.env", True),
    ("**/.env", "/home/ann/proj/.env/inner", True),
    ("**/.env", "/home/ann/proj/.envrc", False),
    ("**/.env.production", "/srv/app/.env.production", True),
    ("/a/**/b", "/a/b", True),
    ("/a/**/b", "/a/x/y/z/b", True),
    ("/a/**/b", "/a/x/bb", False),
    ("/a/**", "/a", True),
    ("/a/**", "/a/x/y", True),
    ("**/.git/hooks", "/home/ann/proj/.git/hooks/pre-commit", True),
    ("**/.git/hooks", "/home/ann/proj/sub/.git/hooks", True),
    ("/a/x**y", "/a/xzy", True),  # ** inside a component acts as *
    ("/a/x**y", "/a/x/y", False),
    # ?
    ("/a/?", "/a/b", True),
    ("/a/?", "/a/bc", False),
    ("/a/?", "/a", False),
    # classes
    ("/a/[abc]", "/a/b", True),
    ("/a/[abc]", "/a/d", False),
    ("/a/[!abc]", "/a/d", True),
    ("/a/[^abc]", "/a/a", False),
    ("/a/[a-c]x", "/a/bx", True),
    ("/a/[a-c]x", "/a/dx", False),
    ("/a/[]]", "/a/]", True),
    ("/a/[!]]", "/a/x", True),
    ("/a/[a-]", "/a/-", True),
    ("/a/[\\]]", "/a/]", True),
    ("/a/[+-0]", "/a/+", True),  # a range spanning '/' still never matches a separator
    ("/a/[+-0]b", "/a//b", False),
    ("/a/[!x]", "/a//", False),
    # braces
    ("/a/{b,c}", "/a/b", True),
    ("/a/{b,c}", "/a/c/d", True),
    ("/a/{b,c}", "/a/d", False),
    ("/a/{b,c/d}/e", "/a/c/d/e", True),
    ("/a/{b,{c,d}x}", "/a/dx", True),
    ("/a/{,x}y", "/a/y", True),
    ("/a/x,y", "/a/x,y", True),  # a comma outside braces is literal
    # escapes
    ("/a/\\*", "/a/*", True),
    ("/a/\\*", "/a/b", False),
    ("/a/\\{b\\}", "/a/{b}", True),
    ("/a/\\?", "/a/?", True),
    # regex metacharacters are literal
    ("/a/b.c", "/a/bxc", False),
    ("/a/(x)+", "/a/(x)+", True),
    ("/a/$x^", "/a/$x^", True),
])
def test_pattern_covers(pattern: str, path: str, expected: bool) -> None:
    assert covers(pattern, path) is expected


def test_a_newline_in_a_name_does_not_end_the_match() -> None:
    assert covers("~/.ssh", "/home/ann/.ssh/id\nrsa")
    assert covers("~/.ssh", "/home/ann/.ssh\n/x") is False  # '.ssh\n' is another name
    assert covers("/a/*", "/a/x\ny")


def test_home_and_workspace_with_glob_characters_are_literal() -> None:
    rule = Rule("files.deny", "~/x", "t", 1)
    matcher = RuleMatcher([rule], home=Path("/h/[a]{b,c}*"), workspace=WORKSPACE)
    assert matcher.match("/h/[a]{b,c}*/x")
    assert matcher.match("/h/a/x") is None
    rel = RuleMatcher([Rule("files.deny", "x", "t", 1)], home=HOME, workspace=Path("/w/?"))
    assert rel.match("/w/?/x") and rel.match("/w/a/x") is None


def test_literal_rules_quote_every_glob_character() -> None:
    assert covers("/tmp/[x]", "/tmp/[x]/f", literal=True)
    assert not covers("/tmp/[x]", "/tmp/x", literal=True)
    assert covers("~/a*b", "/home/ann/a*b", literal=True)
    assert not covers("~/a*b", "/home/ann/aXb", literal=True)


def test_the_first_matching_rule_is_reported() -> None:
    rules = [Rule("files.deny", p, "t.toml", n) for n, p in enumerate(["/a/b", "/a", "/a/**"], 1)]
    matcher = RuleMatcher(rules, home=HOME, workspace=WORKSPACE)
    assert matcher.match("/a/b/c").line == 1
    assert matcher.match("/a/x").line == 2
    assert matcher.match("/b") is None


def test_an_empty_rule_set_matches_nothing() -> None:
    assert RuleMatcher([], home=HOME, workspace=WORKSPACE).match("/") is None


@pytest.mark.parametrize(("pattern", "message"), [
    ("", "empty pattern"),
    ("/a/[bc", "unclosed `[`"),
    ("/a/[!", "unclosed `[`"),
    ("/a/[]", "unclosed `[`"),
    ("/a/{b,c", "unclosed `{`"),
    ("/a/{b,{c}", "unclosed `{`"),
    ("/a/b}", "`}` without a matching `{`"),
    ("/a/b\\", "dangling"),
    ("/a/[z-a]", "bad character class"),
    ("/a/[a/b]", "`/` inside"),
    ("~root/.ssh", "`~user` is not supported"),
    ("/a/*/../b", "`..` after a wildcard"),
])
def test_bad_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(GlobError, match=message.replace("[", r"\[").replace("{", r"\{")
                       .replace("}", r"\}").replace("*", r"\*")):
        check_glob(pattern)


@pytest.mark.parametrize(("pattern", "prefix", "literal"), [
    ("~/.ssh", "/home/ann/.ssh", True),
    ("/etc/ssh/ssh_host_*_key", "/etc/ssh", False),
    ("**/.env", None, False),
    ("secrets/*.pem", "/home/ann/proj/secrets", False),
    ("/", "/", True),
    ("/*/x", "/", False),
])
def test_literal_prefix(pattern: str, prefix: str | None, literal: bool) -> None:
    compiled = compile_glob(pattern, home=HOME, workspace=WORKSPACE)
    assert compiled.literal_prefix == prefix
    assert compiled.is_literal is literal


@pytest.mark.parametrize(("raw", "normal"), [
    ("/a/b/", "/a/b"), ("//a//b", "/a/b"), ("/a/./b", "/a/b"), ("/a/b/../c", "/a/c"),
    ("/", "/"), ("///", "/"), ("/..", "/"),
])
def test_normalize_path(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


def test_error_from_matcher_names_the_rule() -> None:
    with pytest.raises(GlobError, match=r"t\.toml:7"):
        RuleMatcher([Rule("files.deny", "/a/[", "t.toml", 7)], home=HOME, workspace=WORKSPACE)
