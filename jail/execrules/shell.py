"""Read a `sh -c` string far enough to find the simple commands in it.

Not a shell: enough of the POSIX/bash grammar to split `cd x && terraform
destroy; psql <<EOF ... EOF | tee log` into its simple commands, each with its
words (quotes removed), leading `NAME=value` assignments, redirections, and the
text fed to its standard input when that text is right there (a here-document,
a here-string, or `echo ...`/`printf ...` piped into it). Command substitutions
(`$(...)`, backticks, `<(...)`) are read as commands of their own.

What a shell would only know at run time (variables, aliases, functions,
`eval`, globs) is left as written; the exec gate checks every real exec anyway,
so this only lets a prompt appear at the outer `bash -c` and name the command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TEXT = 256 * 1024  # longer scripts are read up to here
MAX_DEPTH = 8  # nested $( ... ) levels

SEPARATORS = frozenset({";", "&", "&&", "||", "|", "|&", "\n", "(", ")", ";;", ";&", ";;&"})
REDIRECTS = ("<<<", "<<-", "&>>", "<<", ">>", "<&", ">&", "<>", ">|", "&>", "<", ">")
KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!",
                      "{", "}", "time", "coproc"})
SKIP_SEGMENT = frozenset({"for", "case", "select", "function", "esac", "in"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^]]*\])?\+?=")
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


@dataclass
class SimpleCommand:
    words: list[str] = field(default_factory=list)
    assignments: list[tuple[str, str]] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    stdin: str | None = None
    piped_from: SimpleCommand | None = None  # the command before `|`, if any


@dataclass
class _Word:
    text: str
    quoted: bool  # any part was quoted or escaped


class _Lexer:
    """Tokens: _Word, or an operator string. Substitutions are parsed recursively."""

    def __init__(self, text: str, depth: int) -> None:
        self.text = text[:MAX_TEXT]
        self.pos = 0
        self.depth = depth
        self.tokens: list[_Word | str] = []
        self.heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) awaiting a newline
        self.bodies: list[str] = []
        self.nested: list[SimpleCommand] = []  # commands found in substitutions
        self.word: list[str] | None = None  # the word being read
        self.quoted = False  # any part of it was quoted or escaped

    def emit(self, token: _Word | str) -> None:
        if isinstance(token, _Word) and self.tokens and self.tokens[-1] in ("<<", "<<-"):
            self.heredocs.append((token.text, self.tokens[-1] == "<<-"))
        self.tokens.append(token)

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def flush(self) -> None:
        if self.word is not None:
            self.emit(_Word("".join(self.word), self.quoted))
        self.word, self.quoted = None, False

    def add(self, text: str, *, quoted: bool) -> None:
        self.word = (self.word or []) + [text]
        self.quoted = self.quoted or quoted

    def run(self) -> None:
        while self.pos < len(self.text):
            ch = self.peek()
            if ch in " \t\r":
                self.flush()
                self.pos += 1
            elif ch == "\n":
                self.flush()
                self.emit("\n")
                self.pos += 1
                self.read_heredoc_bodies()
            elif ch == "#" and self.word is None:
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif not self.read_quoted(ch):
                self.read_plain(ch)
        self.flush()
        self.read_heredoc_bodies()

    def read_quoted(self, ch: str) -> bool:
        """Quotes, escapes and substitutions, which all continue the current word."""
        if ch == "\\":
            nxt = self.peek(1)
            self.pos += 2
            if nxt != "\n":
                self.add(nxt, quoted=True)
        elif ch == "'":
            end = self.text.find("'", self.pos + 1)
            end = len(self.text) if end < 0 else end
            self.add(self.text[self.pos + 1:end], quoted=True)
            self.pos = end + 1
        elif ch == "$" and self.peek(1) == "'":
            self.add(self.read_ansi(), quoted=True)
        elif ch == '"':
            self.add(self.read_double(), quoted=True)
        elif ch == "`" or (ch == "$" and self.peek(1) == "(" and self.peek(2) != "("):
            self.add(self.read_substitution(), quoted=False)
        else:
            return False
        return True

    def read_plain(self, ch: str) -> None:
        if ch in "<>" and self.peek(1) == "(":  # process substitution
            self.flush()
            self.pos += 1
            self.read_substitution()
            return
        op = self.operator_at()
        if op is None:
            self.add(ch, quoted=False)
            self.pos += 1
            return
        if op[0] in "<>&" and self.word is not None and "".join(self.word).isdigit() \
                and not self.quoted:
            self.word = None  # `2>`: the fd number belongs to the redirection
        self.flush()
        self.emit(op)
        self.pos += len(op)

    def operator_at(self) -> str | None:
        rest = self.text[self.pos:self.pos + 3]
        for op in (*REDIRECTS, "&&", "||", "|&", ";;&", ";;", ";&", ";", "&", "|", "(", ")"):
            if rest.startswith(op):
                return op
        return None

    def read_ansi(self) -> str:
        out = []
        self.pos += 2
        while self.pos < len(self.text) and self.peek() != "'":
            ch = self.peek()
            if ch == "\\" and self.peek(1):
                nxt = self.peek(1)
                if nxt == "x":
                    digits = re.match(r"[0-9A-Fa-f]{1,2}", self.text[self.pos + 2:])
                    if digits:
                        out.append(chr(int(digits.group(), 16)))
                        self.pos += 2 + len(digits.group())
                        continue
                if nxt in "01234567":
                    digits = re.match(r"[0-7]{1,3}", self.text[self.pos + 1:])
                    out.append(chr(int(digits.group(), 8)) if digits else "")
                    self.pos += 1 + (len(digits.group()) if digits else 1)
                    continue
                out.append(_ANSI.get(nxt, "\\" + nxt))
                self.pos += 2
            else:
                out.append(ch)
                self.pos += 1
        self.pos += 1
        return "".join(out)

    def read_double(self) -> str:
        out = []
        self.pos += 1
        while self.pos < len(self.text) and self.peek() != '"':
            ch = self.peek()
            if ch == "\\" and self.peek(1) in '"\\$`\n':
                if self.peek(1) != "\n":
                    out.append(self.peek(1))
                self.pos += 2
            elif ch == "`" or (ch == "$" and self.peek(1) == "(" and self.peek(2) != "("):
                out.append(self.read_substitution())
            else:
                out.append(ch)
                self.pos += 1
        self.pos += 1
        return "".join(out)

    def read_substitution(self) -> str:
        """`$(...)`, `(...)` after `<`/`>`, or a backtick pair: parse the inside as commands."""
        if self.peek() == "`":
            end = self.pos + 1
            while end < len(self.text) and self.text[end] != "`":
                end += 2 if self.text[end] == "\\" else 1
            inner, self.pos = self.text[self.pos + 1:end].replace("\\`", "`"), end + 1
        else:
            start = self.pos + (2 if self.peek() == "$" else 1)
            end, level = start, 1
            while end < len(self.text) and level:
                ch = self.text[end]
                if ch == "\\":
                    end += 1
                elif ch == "'":
                    close = self.text.find("'", end + 1)
                    end = len(self.text) if close < 0 else close
                elif ch == "(":
                    level += 1
                elif ch == ")":
                    level -= 1
                end += 1
            inner, self.pos = self.text[start:end - 1], end
        if self.depth < MAX_DEPTH:
            self.nested.extend(split_commands(inner, depth=self.depth + 1))
        return "$(" + inner + ")"

    def read_heredoc_bodies(self) -> None:
        while self.heredocs:
            delimiter, strip = self.heredocs.pop(0)
            lines = []
            while self.pos < len(self.text):
                end = self.text.find("\n", self.pos)
                end = len(self.text) if end < 0 else end
                line = self.text[self.pos:end]
                self.pos = end + 1
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                lines.append(line)
            self.bodies.append("\n".join(lines))


def split_commands(text: str, depth: int = 0) -> list[SimpleCommand]:
    """The simple commands of a shell string, in order (substitutions after their host)."""
    lexer = _Lexer(text, depth)
    lexer.run()
    builder = _Builder(lexer.bodies)
    items = lexer.tokens
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if isinstance(item, _Word):
            builder.word(item)
        elif item in SEPARATORS:
            builder.separator(item)
        else:  # a redirection and its target
            target = items[index] if index < len(items) else None
            index += 1
            builder.redirect(item, target.text if isinstance(target, _Word) else "")
    builder.separator("\n")
    return builder.commands + lexer.nested


class _Builder:
    """Groups tokens into simple commands; here-document bodies go to their commands."""

    def __init__(self, bodies: list[str]) -> None:
        self.bodies = list(bodies)
        self.commands: list[SimpleCommand] = []
        self.current = SimpleCommand()
        self.awaiting_body: list[SimpleCommand] = []
        self.previous_op = ""

    def word(self, word: _Word) -> None:
        if not self.current.words and not word.quoted and _ASSIGNMENT.match(word.text):
            name, _, value = word.text.partition("=")
            self.current.assignments.append((name.rstrip("+"), value))
        else:
            self.current.words.append(word.text)

    def separator(self, op: str) -> None:
        if op == "\n":
            for command in self.awaiting_body:
                if self.bodies:
                    command.stdin = self.bodies.pop(0)
            self.awaiting_body = []
        _finish(self.commands, self.current, self.previous_op)
        self.previous_op, self.current = op, SimpleCommand()

    def redirect(self, op: str, target: str) -> None:
        self.current.redirects.append((op, target))
        if op == "<<<":
            self.current.stdin = target
        elif op in ("<<", "<<-"):
            self.awaiting_body.append(self.current)


def _finish(commands: list[SimpleCommand], command: SimpleCommand, previous_op: str) -> None:
    words = command.words
    while words and words[0] in KEYWORDS:
        words.pop(0)
    if words and words[0] in SKIP_SEGMENT:
        return
    if not words:
        return
    if previous_op in ("|", "|&") and commands:
        command.piped_from = commands[-1]
        source = commands[-1]
        if source.words and source.words[0] in ("echo", "printf"):
            text = " ".join(word for word in source.words[1:] if not word.startswith("-"))
            command.stdin = command.stdin if command.stdin is not None else text
        elif source.words and source.words[0] == "cat" and source.stdin is not None:
            command.stdin = command.stdin if command.stdin is not None else source.stdin
    commands.append(command)
