"""The server name (SNI) in a TLS ClientHello, read without decrypting anything. Pure."""

from __future__ import annotations

import struct

HANDSHAKE = 0x16
CLIENT_HELLO = 0x01
SERVER_NAME = 0x0000


class NotTLS(ValueError):
    """The bytes are not the start of a TLS handshake."""


def looks_like_tls(data: bytes) -> bool:
    return len(data) >= 3 and data[0] == HANDSHAKE and data[1] == 3


def server_name(data: bytes) -> str | None:
    """The host name a ClientHello asks for; None when it names none.

    Raises NotTLS for anything that is not a ClientHello, and ValueError for a
    truncated or malformed one (the caller has all of the first record).
    """
    if not looks_like_tls(data):
        raise NotTLS("not a TLS handshake")
    record_len = struct.unpack_from("!H", data, 3)[0]
    body = data[5:5 + record_len]
    if len(body) < 4 or body[0] != CLIENT_HELLO:
        raise NotTLS("not a ClientHello")
    hello_len = int.from_bytes(body[1:4], "big")
    hello = body[4:4 + hello_len]
    if len(hello) < hello_len:
        raise ValueError("ClientHello split over records")
    pos = 2 + 32  # version, random
    pos += 1 + hello[pos]  # session id
    pos += 2 + struct.unpack_from("!H", hello, pos)[0]  # cipher suites
    pos += 1 + hello[pos]  # compression methods
    if pos + 2 > len(hello):
        return None  # no extensions
    end = pos + 2 + struct.unpack_from("!H", hello, pos)[0]
    pos += 2
    while pos + 4 <= end:
        kind, length = struct.unpack_from("!HH", hello, pos)
        pos += 4
        if kind == SERVER_NAME:
            names = hello[pos:pos + length]
            at = 2
            while at + 3 <= len(names):
                name_type, name_len = names[at], struct.unpack_from("!H", names, at + 1)[0]
                if name_type == 0:
                    return names[at + 3:at + 3 + name_len].decode("ascii", "replace")
                at += 3 + name_len
            return None
        pos += length
    return None
