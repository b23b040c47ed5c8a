"""Which sends the kernel may run itself, and how copied addresses are read. No kernel calls."""

from __future__ import annotations

import socket
import struct

import pytest

from jail.supervisor.sockets import _python_address, _Target

pytestmark = pytest.mark.unit

AF_NETLINK = 16


class _Sock:
    def __init__(self, family: int) -> None:
        self.family = family


def test_copied_addresses_become_what_sendmsg_takes():
    v4 = struct.pack("H", socket.AF_INET) + struct.pack("!H4s", 53, bytes([10, 0, 0, 1])) + bytes(8)
    assert _python_address(_Sock(socket.AF_INET), _Target(None, v4, socket.AF_INET)) == ("10.0.0.1", 53)
    # an IPv4 address sent on an IPv6 socket goes as the mapped address
    assert _python_address(_Sock(socket.AF_INET6), _Target(None, v4, socket.AF_INET)) == \
        ("::ffff:10.0.0.1", 53, 0, 0)
    loopback6 = socket.inet_pton(socket.AF_INET6, "::1")
    v6 = struct.pack("H", socket.AF_INET6) + struct.pack("!HI16s", 443, 7, loopback6) + struct.pack("=I", 2)
    assert _python_address(_Sock(socket.AF_INET6), _Target(None, v6, socket.AF_INET6)) == ("::1", 443, 7, 2)
    abstract = struct.pack("H", socket.AF_UNIX) + b"\0name"
    assert _python_address(_Sock(socket.AF_UNIX), _Target(None, abstract, socket.AF_UNIX)) == b"\0name"
