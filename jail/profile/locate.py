"""Find the line of every key and array element in a TOML text.

tomli returns plain data without positions, but every rule must name its file
and line. This scanner walks the same text (already accepted by tomli) and
records, for each key path, the line where the key, table header or array
element starts: ("files", "deny", 2, "reason") is the `reason` key of the third
entry of `deny` in `[files]`. It follows strings of all four kinds, comments,
multi-line arrays, inline tables and dotted keys, so a `"~/.ssh"` that appears
twice is still told apart. If it meets something unexpected it stops and keeps
what it found; `line_of` then falls back to the nearest enclosing key.
"""

from __future__ import annotations

import contextlib
import re

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BARE_VALUE = re.compile(r"[^,\]}\n#]*")
_BLANK = re.compile(r"[ \t]*")
_BLANK_OR_NEWLINE = re.compile(r"[ \t\r\n]*")
_PLAIN_BASIC_STRING = re.compile(r'"([^"\\\n]*)"')  # no escapes: the common case, in one match
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\",
            "e": "\x1b"}


class _ScanError(Exception):
    """The scanner met something it does not understand."""


def locate(text: str) -> dict[KeyPath, int]:
    scanner = _Scanner(text)
    with contextlib.suppress(_ScanError, IndexError, ValueError):
        scanner.run()
    return scanner.positions


def line_of(positions: dict[KeyPath, int], path: KeyPath) -> int:
    """The line of `path`, or of its nearest recorded ancestor; 1 if none."""
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return 1


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.table: KeyPath = ()
        self.positions: dict[KeyPath, int] = {}
        self.table_arrays: dict[KeyPath, int] = {}

    # -- low level -----------------------------------------------------------

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count

    def expect(self, literal: str) -> None:
        if not self.text.startswith(literal, self.pos):
            raise _ScanError
        self.advance(len(literal))

    def skip_blank(self, *, newlines: bool) -> None:
        blank = _BLANK_OR_NEWLINE if newlines else _BLANK
        while True:
            self.advance(blank.match(self.text, self.pos).end() - self.pos)
            if self.peek() != "#":
                return
            end = self.text.find("\n", self.pos)
            self.advance((len(self.text) if end < 0 else end) - self.pos)

    def record(self, path: KeyPath, line: int, *, base: int) -> None:
        """Record `path` and the implicit tables a dotted key creates."""
        for end in range(base + 1, len(path)):
            self.positions.setdefault(path[:end], line)
        self.positions.setdefault(path, line)

    # -- grammar --------------------------------------------------------------

    def run(self) -> None:
        while True:
            self.skip_blank(newlines=True)
            if not self.peek():
                return
            line = self.line
            if self.peek() == "[":
                self.read_header(line)
                continue
            key = self.read_key()
            self.record(self.table + key, line, base=len(self.table))
            self.expect("=")
            self.skip_blank(newlines=False)
            self.read_value(self.table + key)

    def read_header(self, line: int) -> None:
        if self.peek(1) == "[":  # [[array.of.tables]]
            self.advance(2)
            key = self.read_key()
            self.expect("]]")
            index = self.table_arrays.get(key, -1) + 1
            self.table_arrays[key] = index
            self.record(key, line, base=0)
            self.table = (*key, index)
        else:
            self.advance()
            key = self.read_key()
            self.expect("]")
            self.record(key, line, base=0)
            self.positions[key] = line  # a header beats an earlier dotted mention
            self.table = key

    def read_key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            ch = self.peek()
            if ch in ('"', "'"):
                parts.append(self.read_string())
            else:
                found = _BARE_KEY.match(self.text, self.pos)
                if not found:
                    raise _ScanError
                parts.append(found.group())
                self.advance(found.end() - self.pos)
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def read_value(self, path: KeyPath) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.read_string()
        elif ch == "[":
            self.read_array(path)
        elif ch == "{":
            self.read_inline_table(path)
        else:
            found = _BARE_VALUE.match(self.text, self.pos)
            assert found is not None  # the pattern accepts the empty string
            self.advance(found.end() - self.pos)

    def read_array(self, path: KeyPath) -> None:
        self.advance()
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            self.positions.setdefault((*path, index), self.line)
            self.read_value((*path, index))
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.advance()
                index += 1
            elif self.peek() != "]":
                raise _ScanError

    def read_inline_table(self, path: KeyPath) -> None:
        self.advance()
        while True:
            self.skip_blank(newlines=True)  # TOML 1.1 allows newlines here
            if self.peek() == "}":
                self.advance()
                return
            line = self.line
            key = self.read_key()
            self.record(path + key, line, base=len(path))
            self.expect("=")
            self.skip_blank(newlines=False)
            self.read_value(path + key)
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.advance()
            elif self.peek() != "}":
                raise _ScanError

    def read_string(self) -> str:
        """Read any TOML string; return its value (exact for single-line forms)."""
        quote = self.peek()
        if self.text.startswith(quote * 3, self.pos):
            return self.read_multiline(quote)
        plain = _PLAIN_BASIC_STRING.match(self.text, self.pos) if quote == '"' else None
        if plain:
            self.advance(plain.end() - self.pos)
            return plain.group(1)
        self.advance()
        if quote == "'":
            end = self.text.index("'", self.pos)
            value = self.text[self.pos:end]
            self.advance(end + 1 - self.pos)
            return value
        chars: list[str] = []
        while True:
            ch = self.peek()
            if ch in ("", "\n"):
                raise _ScanError
            if ch == '"':
                self.advance()
                return "".join(chars)
            if ch == "\\":
                chars.append(self.read_escape())
            else:
                chars.append(ch)
                self.advance()

    def read_escape(self) -> str:
        code = self.peek(1)
        if code in ("u", "U", "x"):
            width = {"u": 4, "U": 8, "x": 2}[code]
            digits = self.text[self.pos + 2:self.pos + 2 + width]
            self.advance(2 + width)
            return chr(int(digits, 16))
        self.advance(2)
        return _ESCAPES.get(code, code)

    def read_multiline(self, quote: str) -> str:
        self.advance(3)
        start = self.pos
        while True:
            end = self.text.index(quote * 3, self.pos)
            if quote == '"' and _escaped(self.text, end):
                self.advance(end + 1 - self.pos)
                continue
            # Up to two quotes of the content may sit just before the delimiter.
            extra = 0
            while extra < 2 and self.text.startswith(quote, end + 3):
                end += 1
                extra += 1
            value = self.text[start:end]
            self.advance(end + 3 - self.pos)
            return value


def _escaped(text: str, index: int) -> bool:
    """True if the character at `index` is preceded by an odd run of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
