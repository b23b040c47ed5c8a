"""Command patterns: `terraform destroy *`, `git push --force *`, `kubectl scale --replicas=0 *`.

A pattern is split like a shell line (quotes group words). Its first word is a
glob over the program's names (see names.py). The other words are of three kinds:

- `*` on its own: any number of arguments, none included;
- words starting with `-` are *options*: each must appear somewhere among the
  arguments (before a `--`), in any order. `-r` also matches `-R` and
  `--recursive` where names.py says they are the same option, and a letter in a
  bundle (`-rf`, `-fdx`) unless the program takes single-dash long options.
  `--force` also matches `--force=...` and an abbreviation such as `--forc`.
  `--name=glob` (or `-n=glob`) matches `--name=value`, `--name value` and, for
  one letter, `-nvalue`;
- every other word is a glob over one *positional* argument. Positional words
  match the command's non-option arguments in order, anchored at both ends (end
  the pattern with `*` to allow more). Options the pattern does not name are
  ignored, and so is a word right after such an option when it could be the
  option's value: `kubectl -n prod delete pod x` is `kubectl delete *`.

Within a word, `*`, `?` and `[...]` are globs over that one argument. A
pattern that is only a program (`mkfs*`) matches it with any arguments.

For an allow rule matching is strict about the options it names: every
occurrence of such an option must match one of the pattern's spellings, so
`terraform destroy -target=a *` does not allow a second `-target=b`.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from jail.execrules.names import SINGLE_DASH_LONG, option_group

STAR = "*"
_BUNDLE = re.compile(r"-[A-Za-z0-9]{2,}\Z")
_LONG_MIN_ABBREVIATION = 3  # letters of a `--long` option an abbreviation must keep


class PatternError(ValueError):
    """A command pattern that cannot be used; the message says why."""


@dataclass(frozen=True)
class OptionWord:
    text: str  # as written
    name: str  # `-f`, `--force`, `-target`
    value: str | None  # glob after `=`, or None


@dataclass(frozen=True)
class CommandPattern:
    text: str
    program: str  # glob over program names
    words: tuple[str, ...]  # positional globs and STAR
    options: tuple[OptionWord, ...]

    @property
    def program_is_glob(self) -> bool:
        return any(ch in self.program for ch in "*?[")

    @functools.cached_property
    def literal_words(self) -> frozenset[str]:
        """Positional words without wildcards: each must be among the arguments."""
        return frozenset(w for w in self.words if not any(ch in w for ch in "*?["))


@functools.lru_cache(maxsize=2048)
def parse_pattern(text: str) -> CommandPattern:
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise PatternError(f"cannot split into words: {error}") from None
    if not words:
        raise PatternError("empty command")
    program = words[0]
    if "/" in program:
        raise PatternError(f'name the program, not a path: "{program}"')
    if program.startswith("-") or "=" in program:
        raise PatternError(f'the first word names the program, not "{program}"')
    positional: list[str] = []
    options: list[OptionWord] = []
    for word in words[1:]:
        if word == "--":
            raise PatternError("`--` is not needed in a pattern: options are found anywhere")
        if word.startswith("-") and len(word) > 1:
            name, equals, value = word.partition("=")
            if name in ("-", "--") or (name.startswith("---")):
                raise PatternError(f'"{word}" is not an option name')
            options.append(OptionWord(word, name, value if equals else None))
        else:
            positional.append(word)
    if not positional and not options:
        positional.append(STAR)  # the program alone: every use of it (`deny = ["mkfs*"]`)
    return CommandPattern(text, program, tuple(positional), tuple(options))


@functools.lru_cache(maxsize=8192)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


def glob_match(word: str, pattern: str) -> bool:
    if not any(ch in pattern for ch in "*?["):
        return word == pattern
    return _glob(pattern).match(word) is not None


@dataclass(frozen=True)
class Arguments:
    """A command's arguments, split into options and positionals once."""

    words: tuple[str, ...]
    end_of_options: int  # index of the first `--`, or len(words)
    positional: tuple[tuple[str, bool], ...]  # (word, could be the previous option's value)

    @classmethod
    def of(cls, words: Sequence[str]) -> Arguments:
        words = tuple(words)
        end = words.index("--") if "--" in words else len(words)
        positional = []
        for index, word in enumerate(words):
            if index == end:
                continue
            if index < end and is_option(word):
                continue
            previous = words[index - 1] if index else ""
            maybe_value = 0 < index <= end and is_option(previous) and "=" not in previous
            positional.append((word, maybe_value and index != end))
        return cls(words, end, tuple(positional))

    @functools.cached_property
    def positional_words(self) -> frozenset[str]:
        return frozenset(word for word, _ in self.positional)

    def options(self) -> list[tuple[int, str]]:
        return [(i, w) for i, w in enumerate(self.words[:self.end_of_options]) if is_option(w)]


def is_option(word: str) -> bool:
    return word.startswith("-") and word != "-"


def matches(pattern: CommandPattern, args: Arguments, program: str, *, strict: bool = False) -> bool:
    """Do the arguments fit the pattern (the program name was checked by the caller)?"""
    if not pattern.literal_words <= args.positional_words:
        return False  # a word the pattern needs is not there at all (cheap on long argv)
    for option in pattern.options:
        if not _option_present(option, args, program, strict=strict):
            return False
    return _positional_match(pattern.words, args.positional)


def _spellings(option: OptionWord, program: str) -> tuple[str, ...]:
    return option_group(program, option.name)


def _occurrences(option: OptionWord, args: Arguments, program: str) -> list[str | None]:
    """The values given to this option (None when given without a value)."""
    found: list[str | None] = []
    short_forms = program not in SINGLE_DASH_LONG  # `-nVALUE` and bundles such as `-rf`
    spellings = _spellings(option, program)
    for index, word in args.options():
        name, equals, value = word.partition("=")
        following = args.words[index + 1] if index + 1 < args.end_of_options else None
        if following is not None and is_option(following):
            following = None
        for spelling in spellings:
            if _same_name(name, spelling):
                found.append(value if equals else following)
                break
            letter = spelling[1] if len(spelling) == 2 and spelling[1] != "-" else ""
            if letter and short_forms and not equals and _BUNDLE.match(word) \
                    and letter in word[1:]:
                rest = word[word.index(letter, 1) + 1:]
                found.append(rest or following)  # `-XDELETE`, `-sX DELETE`, `-rf`
                break
    return found


def _same_name(given: str, spelling: str) -> bool:
    if given == spelling or glob_match(given, spelling):
        return True
    if spelling.startswith("--") and given.startswith("--"):
        short = given[2:]
        return len(short) >= _LONG_MIN_ABBREVIATION and spelling[2:].startswith(short)
    return False


def _option_present(option: OptionWord, args: Arguments, program: str, *, strict: bool) -> bool:
    occurrences = _occurrences(option, args, program)
    if option.value is None:
        return bool(occurrences)
    hits = [v is not None and glob_match(v, option.value) for v in occurrences]
    if strict:
        return bool(hits) and all(hits)
    return any(hits)


def _positional_match(pattern: Sequence[str], given: Sequence[tuple[str, bool]]) -> bool:
    """Glob over a sequence: STAR spans any run, words that may be option values may be skipped."""
    count = len(given)
    # ok[j]: pattern[i:] matches given[j:], built from the end of the pattern.
    ok = [False] * (count + 1)
    ok[count] = True
    for j in range(count - 1, -1, -1):
        ok[j] = ok[j + 1] and given[j][1]
    for i in range(len(pattern) - 1, -1, -1):
        word = pattern[i]
        new = [False] * (count + 1)
        if word == STAR:
            new[count] = ok[count]
            for j in range(count - 1, -1, -1):
                new[j] = ok[j] or new[j + 1]
        else:
            for j in range(count - 1, -1, -1):
                new[j] = (glob_match(given[j][0], word) and ok[j + 1]) or (given[j][1] and new[j + 1])
        ok = new
    return ok[0]


def names_options(allow: CommandPattern, ask: CommandPattern, program: str) -> bool:
    """Does `allow` name every option `ask` names (so that it may stand in for it)?"""
    named = {spelling for option in allow.options for spelling in option_group(program, option.name)}
    return all(option.name in named for option in ask.options)
