"""Secret redaction: find secrets in what a sandboxed process reads, hide them behind placeholders.

Pure Python: no kernel calls beyond reading files, and nothing from the supervisor,
the native helper or the TUI, so the supervisor, `jail scan` and tests share it.

    scanner = Scanner.from_catalogue(extra_rules=(), disabled=frozenset())
    findings = scanner.scan(data)                  # [Finding(rule_id, line, start, end)]
    redacted, findings = scanner.redact(data, key)  # same line count, idempotent
    restored = restore(written, original, key)      # real values back where they were

Placeholders are `REDACTED_BY_POLICY:<rule-id>:<8 hex of HMAC-SHA256(key, value)>`;
the key is random per session (new_session_key()). A finding and a placeholder
carry the rule and the place, never the value.

Policy for data that is not scanned (examine() says which, and why):
- **Too large**: more than `max_bytes` (default 8 MiB) is not scanned; examine()
  returns Unscanned.TOO_LARGE and the caller decides (serve it, deny it, ask).
  check_size(st_size) answers before the file is read.
- **Binary**: a NUL byte in the first 8 KiB means binary, which is not scanned
  (Unscanned.BINARY): placeholders would corrupt it. Two kinds of text with NULs
  are scanned: UTF-16 (BOM, or BOM-less with every other byte NUL) is decoded,
  scanned and re-encoded; NUL-separated text (/proc/PID/environ, `find -print0`)
  is scanned with each NUL read as a line break and written back as a NUL.

Speed: each rule names keywords; one pass over the lower-cased text finds which
occur (prefilter.py) and only those rules' regexes run. ScanCache keeps results
per file identity (dev, inode, size, mtime, ctime).
"""

from jail.redact.cache import FileKey, ScanCache, file_key
from jail.redact.envvars import NAME_RULE, EnvFinding, redact_environment, secret_name
from jail.redact.placeholders import MARKER, PLACEHOLDER_RE, new_session_key, placeholder, tag_of
from jail.redact.restore import MOVED, UNKNOWN, Restored, Unresolved, restore
from jail.redact.rules import CatalogueError, Rule, builtin_rules, parse_rules
from jail.redact.scanner import (
    DEFAULT_MAX_BYTES,
    EVERY_VALUE_RULE,
    Finding,
    Scanner,
    ScanResult,
    Unscanned,
)
from jail.redact.textform import Form

__all__ = [
    "DEFAULT_MAX_BYTES", "EVERY_VALUE_RULE", "MARKER", "MOVED", "NAME_RULE", "PLACEHOLDER_RE", "UNKNOWN",
    "CatalogueError", "EnvFinding", "FileKey", "Finding", "Form", "Restored", "Rule", "ScanCache",
    "ScanResult", "Scanner", "Unresolved", "Unscanned", "builtin_rules", "file_key", "new_session_key",
    "parse_rules", "placeholder", "redact_environment", "restore", "secret_name", "tag_of",
]
