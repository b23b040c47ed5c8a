"""What a command carries in its arguments: destructive SQL, an HTTP DELETE, a
GraphQL mutation that deletes. Each detector takes text and returns a short
description of what it found (shown in the prompt), or None.

Only text that is in the arguments (or written out as the command's stdin in a
`sh -c` string) can be read: `psql -f drop.sql` and `curl -d @body.json` name a
file whose content the policy does not see.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Sequence

MAX_TEXT = 64 * 1024  # per argument

# -- SQL and friends ---------------------------------------------------------------

_SQL_NOISE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)
_DROP = re.compile(r"\bdrop\s+(?:temporary\s+|materialized\s+)?"
                   r"(database|schema|table|keyspace|tablespace|owned|collection|column)\b",
                   re.IGNORECASE)
_TRUNCATE = re.compile(r"\btruncate\b(?!\s*\()", re.IGNORECASE)
_DELETE = re.compile(r"\bdelete\s+from\b", re.IGNORECASE)
_UPDATE = re.compile(r"^\s*(?:with\b.*?\)\s*)?update\s+\S+\s+set\b", re.IGNORECASE | re.DOTALL)
_WHERE = re.compile(r"\bwhere\b(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
# After string literals are blanked, `'a' = 'a'` reads as ` = `.
_ALWAYS_TRUE = re.compile(r"\s*(?:true|1|(\w+)\s*=\s*\1|=|not\s+false)\s*(?:returning\b.*)?\Z",
                          re.IGNORECASE | re.DOTALL)
_REDIS = re.compile(r"\bflush(?:all|db)\b", re.IGNORECASE)
_MONGO = re.compile(r"\.\s*(?:dropDatabase\s*\(|drop\s*\(\s*\)|(?:deleteMany|remove)\s*\(\s*\{\s*\}\s*\))",
                    re.IGNORECASE)


def destructive_sql(text: str) -> str | None:
    text = text[:MAX_TEXT]
    found = _MONGO.search(text)
    if found:
        return found.group(0).lstrip(". ").split("(")[0] + "()"
    found = _REDIS.search(text)
    if found:
        return found.group(0).upper()
    clean = _SQL_NOISE.sub(" ", text)
    found = _DROP.search(clean)
    if found:
        return f"DROP {found.group(1).upper()}"
    if _TRUNCATE.search(clean):
        return "TRUNCATE"
    return next(filter(None, map(_unbounded, clean.split(";"))), None)


def _unbounded(statement: str) -> str | None:
    """DELETE or UPDATE of every row: no WHERE, or one that is always true."""
    where = _WHERE.search(statement)
    if where is not None and not _ALWAYS_TRUE.match(where.group("rest")):
        return None
    how = "without WHERE" if where is None else "with an always-true WHERE"
    if _DELETE.search(statement):
        return f"DELETE {how}"
    if _UPDATE.search(statement):
        return f"UPDATE {how}"
    return None


# -- HTTP -----------------------------------------------------------------------------

_METHOD_OPTIONS = ("-X", "--request", "--method")
_CURL_BUNDLE = re.compile(r"-[A-Za-z]*X(\w*)\Z")
# A POST that the server treats as DELETE: a method-override header or form field.
_OVERRIDE = re.compile(r"x-http-method(?:-override)?\s*:\s*(\w+)|(?:^|[&?\s])_method=(\w+)",
                       re.IGNORECASE)
POSITIONAL_METHOD = frozenset({"http", "https", "xh", "xhs", "httpie", "curlie"})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                          "CONNECT", "PURGE"})


def http_method(args: tuple[str, ...], positional: Sequence[tuple[str, bool]] | None) -> str | None:
    """The request method the arguments ask for, if they name one.

    `positional` (the non-option arguments, each marked when it may be an
    option's value) is given for httpie-style clients: `http [METHOD] URL`.
    """
    for word in args:
        override = _OVERRIDE.search(word)
        if override:
            return (override.group(1) or override.group(2)).upper()
    for index, word in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        name, equals, value = word.partition("=")
        if name in _METHOD_OPTIONS:
            return (value if equals else following).upper() or None
        bundle = None if word.startswith("--") else _CURL_BUNDLE.match(word)
        if bundle:
            return (bundle.group(1) or following).upper() or None
    for word, maybe_value in positional or ():
        if word.isalpha() and word.upper() in HTTP_METHODS:
            return word.upper()
        if not maybe_value:
            break
    return None


# -- GraphQL --------------------------------------------------------------------------

_MUTATION = re.compile(r"\bmutation\b", re.IGNORECASE)
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_CALL = re.compile(r"([_A-Za-z][_0-9A-Za-z]*)\s*\(")
DESTRUCTIVE_WORDS = frozenset({"delete", "destroy", "remove", "drop", "purge", "wipe", "erase",
                               "truncate", "terminate"})


def destructive_name(name: str) -> bool:
    """`volumeDelete`, `deleteProject`, `drop_table`, `HTTPDelete` yes; `deletedAt`, `undelete` no."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z])([A-Z][a-z])", r"\1 \2", spaced)
    return any(word in DESTRUCTIVE_WORDS for word in spaced.replace("_", " ").lower().split())


def graphql_documents(texts: Iterable[str]) -> list[str]:
    """Every text that may be a GraphQL document: raw, JSON `query` fields, URL-decoded."""
    out: list[str] = []
    for raw in texts:
        text = raw[:MAX_TEXT]
        candidates = [text]
        if "%" in text or "+" in text:
            candidates.append(urllib.parse.unquote_plus(text))
        for candidate in list(candidates):
            stripped = candidate.strip()
            if stripped[:1] in "[{":
                try:
                    data = json.loads(stripped)
                except ValueError:
                    continue
                candidates.extend(_query_fields(data))
        out.extend(c for c in candidates if _MUTATION.search(c))
    return out


def _query_fields(data: object) -> list[str]:
    if isinstance(data, list):
        return [q for item in data for q in _query_fields(item)]
    if isinstance(data, dict):
        return [v for k, v in data.items() if isinstance(v, str) and k in ("query", "mutation")]
    return []


def destructive_mutation(document: str) -> str | None:
    """The first deleting field of a mutation in the document, if any."""
    for found in _MUTATION.finditer(document):
        start = _selection_start(document, found.end())
        fields = _top_fields(document, start) if start is not None else []
        tail = document[found.end():found.end() + MAX_TEXT]
        fields += [m.group(1) for m in _CALL.finditer(tail)]
        for name in fields:
            if destructive_name(name):
                return name
    return None


def _skip_string(text: str, index: int) -> int:
    """Index after the string starting at text[index] (a quote)."""
    if text.startswith('"""', index):
        end = text.find('"""', index + 3)
        return len(text) if end < 0 else end + 3
    index += 1
    while index < len(text) and text[index] != '"':
        index += 2 if text[index] == "\\" else 1
    return index + 1


def _skip_parens(text: str, index: int) -> int:
    depth = 0
    while index < len(text):
        ch = text[index]
        if ch == '"':
            index = _skip_string(text, index)
            continue
        if ch == "\\":
            index += 2
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        index += 1
        if depth == 0:
            return index
    return index


def _selection_start(text: str, index: int) -> int | None:
    limit = min(len(text), index + 4096)
    while index < limit:
        ch = text[index]
        if ch == "{":
            return index
        if ch == "(":
            index = _skip_parens(text, index)
        elif ch == '"':
            index = _skip_string(text, index)
        else:
            index += 1
    return None


def _top_fields(text: str, index: int) -> list[str]:
    """Field names directly inside the selection set that opens at text[index]."""
    fields: list[str] = []
    depth = 0
    end = min(len(text), index + MAX_TEXT)
    while index < end:
        ch = text[index]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        elif ch == "(":
            index = _skip_parens(text, index)
            continue
        elif ch == '"':
            index = _skip_string(text, index)
            continue
        elif ch == "\\":
            index += 2
            continue
        elif ch == "#":
            newline = text.find("\n", index)
            index = end if newline < 0 else newline
            continue
        elif depth == 1 and (ch.isalpha() or ch == "_"):
            name = _NAME.match(text, index)
            if name is not None:
                index = name.end()
                after = text[index:index + 64].lstrip()
                if after.startswith(":"):  # alias: the field is the next name
                    real = _NAME.match(after[1:].lstrip())
                    fields.append(real.group(0) if real else name.group(0))
                elif name.group(0) != "on":
                    fields.append(name.group(0))
                continue
        index += 1
    return fields
