"""Glob patterns for file rules, translated to regular expressions.

A pattern names absolute paths: `~` and `~/...` are the invoking person's home,
`/...` is absolute, `**/...` matches anywhere, anything else is relative to the
workspace root. `**` as a whole component is any number of components, `*` and
`?` stay within one component, `[...]` is a character class (`!` or `^`
negates), `{a,b}` is alternation and `\\` escapes the next character.

A pattern covers a path when it matches the path *or any ancestor of it*, so
`~/.ssh` covers `~/.ssh/id_rsa`. Many rules are compiled into one regex per
category; the named group that matched says which rule it was.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jail.profile.model import Rule

GLOB_CHARS = "*?[]{}"
_ESCAPE_CHARS = GLOB_CHARS + "\\,"

# Every ancestor-or-self match ends like this. \Z and DOTALL: a newline in a
# file name must not end the match early (a `$` would let `x\n` slip past).
_SUBTREE = r"(?:/.*)?\Z"


class GlobError(ValueError):
    """A pattern that cannot be compiled; the message says why."""


@dataclass(frozen=True)
class CompiledGlob:
    regex: str  # matches the path itself, without the ancestor suffix
    literal_prefix: str | None  # leading components without wildcards, absolute
    is_literal: bool  # the whole pattern is one literal path


# Tokens: ("lit", ch) ("star",) ("globstar",) ("any",) ("class", regex)
# ("open",) ("comma",) ("close",) ("sep",)
Token = tuple[str, ...]
_SIMPLE_TOKENS: dict[str, Token] = {"{": ("open",), "}": ("close",), ",": ("comma",),
                                    "?": ("any",), "/": ("sep",)}


def has_glob_chars(text: str) -> bool:
    return any(ch in GLOB_CHARS for ch in text)


def glob_escape(text: str) -> str:
    """Quote a literal path so that it matches only itself."""
    return "".join("\\" + ch if ch in _ESCAPE_CHARS else ch for ch in text)


def normalize_path(path: str) -> str:
    """Absolute, no trailing slash, no `.`/`..` or doubled slashes (lexically)."""
    norm = posixpath.normpath(path) if path else "."
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm


def check_glob(pattern: str) -> None:
    """Raise GlobError if the pattern cannot be compiled."""
    compile_glob(pattern, home=Path("/home/user"), workspace=Path("/workspace"))


def expand_pattern(pattern: str, *, home: Path, workspace: Path) -> str:
    """Turn `~`, `~/x` and relative patterns into absolute ones (still globs)."""
    if not pattern:
        raise GlobError("empty pattern")
    if pattern == "~" or pattern.startswith("~/"):
        return glob_escape(str(home)) + pattern[1:]
    if pattern.startswith("~"):
        raise GlobError("`~user` is not supported; write the path out or use `~/`")
    if pattern.startswith(("/", "**")):
        return pattern
    return glob_escape(str(workspace)) + "/" + pattern


def compile_glob(pattern: str, *, home: Path, workspace: Path) -> CompiledGlob:
    expanded = expand_pattern(pattern, home=home, workspace=workspace)
    components = _normalise(_split(_tokenize(expanded)))
    regex = "".join(
        r"(?:/[^/]+)*" if comp == [("globstar",)] else "/" + _translate(comp)
        for comp in components
    )
    prefix: list[str] = []
    for comp in components:
        if not _is_literal(comp):
            break
        prefix.append("".join(tok[1] for tok in comp))
    is_literal = len(prefix) == len(components)
    anchored = not components or components[0] != [("globstar",)]
    literal_prefix = "/" + "/".join(prefix) if anchored else None
    return CompiledGlob(regex, literal_prefix, is_literal)


def _tokenize(pattern: str) -> list[Token]:
    tokens: list[Token] = []
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise GlobError("dangling `\\` at the end")
            tokens.append(("lit", pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            run = len(pattern[i:]) - len(pattern[i:].lstrip("*"))
            tokens.append(("globstar",) if run > 1 else ("star",))
            i += run
            continue
        if ch == "[":
            regex, i = _read_class(pattern, i)
            tokens.append(("class", regex))
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                raise GlobError("`}` without a matching `{`")
            depth -= 1
        token = _SIMPLE_TOKENS.get(ch) if ch != "," or depth else None
        tokens.append(token or ("lit", ch))
        i += 1
    if depth:
        raise GlobError("unclosed `{`")
    return tokens


def _read_class(pattern: str, start: int) -> tuple[str, int]:
    """Parse `[...]` at start; return a regex that never matches `/`."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    items: list[str] = []
    first = True
    while True:
        if i >= len(pattern):
            raise GlobError("unclosed `[`")
        ch = pattern[i]
        if ch == "]" and not first:
            break
        if ch == "\\" and i + 1 < len(pattern):
            i += 1
            ch = pattern[i]
        elif ch == "/":
            raise GlobError("`/` inside `[...]` can never match")
        if ch == "-" and not first and i + 1 < len(pattern) and pattern[i + 1] != "]":
            items.append("-")
        else:
            items.append(re.escape(ch))
        first = False
        i += 1
    body = "".join(items)
    regex = f"[^/{body}]" if negate else f"(?!/)[{body}]"
    try:
        re.compile(regex)
    except re.error as error:
        raise GlobError(f"bad character class `{pattern[start:i + 1]}`: {error.msg}") from None
    return regex, i + 1


def _split(tokens: list[Token]) -> list[list[Token]]:
    """Split at `/` outside braces; a `/` inside braces stays in its component."""
    components: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok[0] == "open":
            depth += 1
        elif tok[0] == "close":
            depth -= 1
        if tok[0] == "sep" and depth == 0:
            components.append([])
        else:
            components[-1].append(tok)
    return components


def _is_literal(comp: list[Token]) -> bool:
    return all(tok[0] == "lit" for tok in comp)


def _normalise(components: list[list[Token]]) -> list[list[Token]]:
    out: list[list[Token]] = []
    for comp in components:
        text = "".join(tok[1] for tok in comp) if _is_literal(comp) else None
        if text in ("", "."):
            continue
        if text == "..":
            if out and not _is_literal(out[-1]):
                raise GlobError("`..` after a wildcard is ambiguous")
            if out:
                out.pop()
            continue
        out.append(comp)
    return out


def _translate(comp: list[Token]) -> str:
    parts: list[str] = []
    for tok in comp:
        kind = tok[0]
        if kind == "lit":
            parts.append(re.escape(tok[1]))
        elif kind in ("star", "globstar"):  # `**` inside a component acts as `*`
            parts.append("[^/]*")
        elif kind == "any":
            parts.append("[^/]")
        elif kind == "class":
            parts.append(tok[1])
        elif kind == "open":
            parts.append("(?:")
        elif kind == "comma":
            parts.append("|")
        elif kind == "close":
            parts.append(")")
        elif kind == "sep":
            parts.append("/")
    return "".join(parts)


class RuleMatcher:
    """All rules of one category, compiled into one regex.

    `literal=True` is for places listed as plain paths (writable): the pattern
    text is quoted first, so `[` in a directory name is just a bracket.
    """

    def __init__(self, rules: Sequence[Rule], *, home: Path, workspace: Path,
                 literal: bool = False) -> None:
        self.rules = tuple(rules)
        self.compiled: list[CompiledGlob] = []
        alternatives = []
        for index, rule in enumerate(self.rules):
            pattern = rule.pattern
            if literal and pattern not in ("~",) and not pattern.startswith("~/"):
                pattern = glob_escape(pattern)
            elif literal:
                pattern = "~" + glob_escape(pattern[1:])
            try:
                compiled = compile_glob(pattern, home=home, workspace=workspace)
            except GlobError as error:
                raise GlobError(f"{rule.where}: {rule.pattern!r}: {error}") from None
            self.compiled.append(compiled)
            alternatives.append(f"(?P<r{index}>{compiled.regex})")
        joined = "|".join(alternatives) if alternatives else "(?!)"
        self._regex = re.compile(rf"\A(?:{joined}){_SUBTREE}", re.DOTALL)

    def match(self, path: str) -> Rule | None:
        """The first rule covering `path` (normalised, absolute), or None."""
        found = self._regex.match(path)
        if found is None or found.lastgroup is None:
            return None
        return self.rules[int(found.lastgroup[1:])]

    def literal_paths(self) -> list[str]:
        """Absolute paths of the rules that contain no wildcard."""
        return [c.literal_prefix for c in self.compiled if c.is_literal and c.literal_prefix]

    def literal_paths_all(self) -> list[str | None]:
        """For each rule in order: its absolute path if it has no wildcard, else None."""
        return [c.literal_prefix if c.is_literal else None for c in self.compiled]

    def prefixes(self) -> list[tuple[str, Rule]]:
        """(literal leading directories, rule) for every anchored pattern."""
        return [(c.literal_prefix, rule) for c, rule in zip(self.compiled, self.rules, strict=True)
                if c.literal_prefix is not None]
