"""The audit log: one hash-chained JSON line per decision, per session.

`writer` appends (on disk before the effect, invariant 6); `reader` lists,
reads, follows and verifies session files.
"""

from jail.audit.reader import (
    SessionInfo,
    VerifyResult,
    follow_lines,
    list_sessions,
    read_lines,
    read_records,
    verify,
)
from jail.audit.writer import GENESIS, AuditError, AuditWriter, new_session_id

__all__ = [
    "GENESIS",
    "AuditError",
    "AuditWriter",
    "SessionInfo",
    "VerifyResult",
    "follow_lines",
    "list_sessions",
    "new_session_id",
    "read_lines",
    "read_records",
    "verify",
]
