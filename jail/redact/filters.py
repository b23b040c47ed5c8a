"""False-positive filters: small named predicates a rule lists in `filters = [...]`.

Each takes the candidate secret (bytes) and the regex match it came from, and
returns True when the candidate is *not* a secret: a placeholder in a template,
a reference to a variable, code, a documentation example. Rules name them in
the catalogue; there is no per-provider logic anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable

from jail.redact.entropy import longest_run
from jail.redact.placeholders import MARKER

Predicate = Callable[[bytes, "re.Match[bytes]"], bool]

# Whole values that are words or types rather than secrets.
_WORDS = frozenset(
    b"""password passwd pass secret secrets token tokens key apikey api_key none null nil
    undefined true false yes no on off required optional string str text bool int number
    empty default hidden enabled disabled changeme changeit change_me foo bar baz foobar
    test testing example sample dummy placeholder redacted tbd todo fixme n/a na unset
    mask masked value your_password your_token your_secret xxxx bearer basic auth
    """.split()
)
# Substrings that mark a template or a documentation placeholder.
_MARKS = (b"changeme", b"change_me", b"change-me", b"changeit", b"xxx", b"your_", b"your-",
          b"yourtoken", b"yourkey", b"yoursecret", b"yourpassword", b"example", b"placeholder",
          b"dummy", b"redacted", b"replace_me", b"replace-me", b"replaceme", b"insert_", b"insert-",
          b"<your", b"fixme", b"todo", b"secret_here", b"key_here", b"token_here", b"goes_here",
          b"-here", b"_here", b"...", b"\xe2\x80\xa2", b"\xe2\x80\xa6",
          # self-describing values: FOOBARSECRET, MYTOKEN1, my-api-key, password1
          b"secret", b"password", b"passwd", b"token", b"apikey", b"api_key", b"api-key", b"foobar")
# Template and variable syntaxes: ${VAR} {{ x }} <%= x %> $(cmd) %(name)s %s {0} <value> %VAR%.
_TEMPLATE = re.compile(
    rb"\$\{|\{\{|\{%|<%|\$\(|%\([a-z_]+\)s|%[sd]\b|\{[0-9]*\}|\{[A-Za-z_][A-Za-z0-9_.]*\}|^<[^<>]*>$|^%[A-Za-z_]+%$|^\$[A-Za-z_]"
    rb"|^@[A-Za-z_]+@$|^#\{|^!vault|^\[\[|^env\(|^ENV\[|^process\.env|^os\.environ|^getenv",
    re.IGNORECASE)
_CALL_OR_ATTR = re.compile(rb"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(.*\)|\[.*\])?$")
_WORD = re.compile(rb"^[A-Za-z_]+$")
_ATTRIBUTE = re.compile(rb"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_ENV_NAME = re.compile(rb"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_SLUG = re.compile(rb"^[a-z]+(?:[_-][a-z]+)+$")
_SHOUTED = re.compile(rb"^[A-Z]+(?:[._-][A-Z]+)+$")  # HEADER.PAYLOAD.SIGNATURE, YOUR_KEY_HERE
_PATH = re.compile(rb"^(?:/|\./|\.\./|~/|[A-Za-z]:\\)[^\s]*$|\.(?:pem|key|json|txt|crt|p12|pfx|env)$")


def is_placeholder(value: bytes, _match: re.Match[bytes] | None = None) -> bool:
    """A template variable, a documentation placeholder or an already redacted value."""
    lowered = value.lower().strip()
    if not lowered or MARKER in value:
        return True
    if lowered in _WORDS or any(mark in lowered for mark in _MARKS) or _SHOUTED.match(value.strip()):
        return True
    if longest_run(lowered) >= max(4, len(lowered) // 2 + 1) or len(set(lowered)) <= 2:
        return True  # ******** or aaaaaaaa or ••••
    return bool(_TEMPLATE.search(value))


def is_code_reference(value: bytes, match: re.Match[bytes]) -> bool:
    """A value that reads as code: `self.password`, `get_token()`, `cfg["key"]`, `ENV_NAME`, a bare word.

    Unquoted, a value of letters alone (`password = credentials`) is a variable far
    more often than a password; a quoted one is a literal and is judged by the rest.
    """
    quoted = bool(match.groupdict().get("q"))
    if _ENV_NAME.match(value):
        return True
    if quoted:
        return False
    return bool(_WORD.match(value) or _ATTRIBUTE.match(value)
                or (_CALL_OR_ATTR.match(value) and value.endswith((b")", b"]"))))


def is_prose(value: bytes, _match: re.Match[bytes]) -> bool:
    """Words with blanks between them (`'Invalid token'`): a message, not a credential.

    Tokens and keys never hold blanks; a password might (a passphrase), so a
    value with a digit in it is kept.
    """
    return any(blank in value for blank in b" \t") and not any(48 <= c <= 57 for c in value)


def is_doc_example(value: bytes, match: re.Match[bytes]) -> bool:
    """A documentation example: cut short with `...`, marked EXAMPLE, or words instead of a key body."""
    return (b"..." in value or b"\xe2\x80\xa6" in value or b"example" in value.lower()
            or is_prose(value, match))


def is_identifier_like(value: bytes, _match: re.Match[bytes]) -> bool:
    """Lower-case words joined by `_` or `-` (`access_token_value`, `my-service`): a name, not a key."""
    return bool(_SLUG.match(value))


def is_path(value: bytes, _match: re.Match[bytes]) -> bool:
    """A file path (`private_key: /etc/ssl/key.pem`): the secret is elsewhere."""
    return bool(_PATH.search(value))


def is_token_placeholder(value: bytes, _match: re.Match[bytes]) -> bool:
    """A format-shaped token that is visibly fake: `ghp_xxxx...`, `AKIA...EXAMPLE`, mostly one
    character. A run alone is not enough in a long token: base64 of binary fields has them
    (Fly.io macaroons start `fm2_lJPECAAAAAAAA...`)."""
    lowered = value.lower()
    return b"xxxx" in lowered or b"example" in lowered or longest_run(value) >= max(8, len(value) // 3)


def _b64url_json(part: bytes) -> object:
    try:
        raw = base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def is_not_jwt(value: bytes, _match: re.Match[bytes]) -> bool:
    """Not a JWT unless the header decodes to a JSON object with "alg"."""
    header = _b64url_json(value.split(b".", 1)[0])
    return not (isinstance(header, dict) and "alg" in header)


def is_not_service_role(value: bytes, match: re.Match[bytes]) -> bool:
    """Not a Supabase service key unless the JWT's payload says role service_role."""
    parts = value.split(b".")
    if len(parts) < 3 or is_not_jwt(value, match):
        return True
    payload = _b64url_json(parts[1])
    return not (isinstance(payload, dict) and payload.get("role") == "service_role")


def is_not_basic_auth(value: bytes, _match: re.Match[bytes]) -> bool:
    """Not HTTP basic credentials unless the base64 decodes to printable `user:password`."""
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return True
    _user, colon, password = text.partition(":")
    return not (colon and password and text.isprintable() and not is_placeholder(password.encode()))


_RESOURCE_NAME = re.compile(rb"^(?:arn:aws[a-z-]*:|projects/[^/\s]+/|/subscriptions/[0-9a-f-]{36}/)")
# Names of tokens that page through results or make a request idempotent: an
# opaque cursor (often base64 JSON, so high in entropy), never a credential.
_CURSOR_NAMES = (b"next", b"page", b"continuation", b"request", b"client", b"idempotency", b"sync",
                 b"pagination", b"cancellation", b"marker", b"cursor", b"resume", b"starting",
                 b"csrf", b"xsrf", b"change", b"batch", b"update")
_NAME_TAIL = re.compile(rb"[A-Za-z0-9]*[_.-]?$")


# Minified and ordinary code that a `secret: ...` / `token = ...` pattern can run
# into: operators, calls, chained assignments, a value that starts by closing or
# continuing an expression. Random keys have none of these; a password could,
# rarely, and is then missed rather than a program broken.
_CODE_FRAGMENT = re.compile(
    rb"\|\||&&|=>|===|!==|\?\.|\)[;,.)?:]|^[+)\]},;]|^(?:this|self|\$)\.|[\w$\]]=[\w$.]+="
    rb"|\b(?:return|function|typeof|await|new|let|const|var)\s|[A-Za-z_$][\w$]*\.[A-Za-z_$][\w$]*\(")
_CMDLET = re.compile(rb"^[A-Z][a-z]+-[A-Z][a-z]+$")


def is_code_fragment(value: bytes, _match: re.Match[bytes]) -> bool:
    """`this.privateKey=this.key=_`, `q.getKey||null`, `"+q);let w=...`: code, not a value."""
    return bool(_CODE_FRAGMENT.search(value) or _CMDLET.match(value))


def is_resource_name(value: bytes, _match: re.Match[bytes]) -> bool:
    """A cloud resource name (`arn:aws:kms:...:key/...`, `projects/p/...`): it names a key, it is not one."""
    return bool(_RESOURCE_NAME.match(value))


def is_cursor_token(_value: bytes, match: re.Match[bytes]) -> bool:
    """`NextToken`, `pageToken`, `ClientRequestToken`, `csrf_token`: a cursor or nonce by its name."""
    before = match.string[max(0, match.start() - 40):match.start()]
    name = _NAME_TAIL.search(before).group().rstrip(b"_.-").lower()
    return name.endswith(_CURSOR_NAMES)


FILTERS: dict[str, Predicate] = {
    "resource-name": is_resource_name,
    "code-fragment": is_code_fragment,
    "cursor-token": is_cursor_token,
    "placeholder": is_placeholder,
    "code-reference": is_code_reference,
    "identifier-like": is_identifier_like,
    "prose": is_prose,
    "doc-example": is_doc_example,
    "path": is_path,
    "token-placeholder": is_token_placeholder,
    "not-jwt": is_not_jwt,
    "not-service-role": is_not_service_role,
    "not-basic-auth": is_not_basic_auth,
}
