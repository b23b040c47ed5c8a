"""Which sends the kernel may run itself, and how copied addresses are read. No kernel calls."""

from __future__ import annotations

import socket
import struct

import pytest

from jail.supervisor.sockets import MSG_FASTOPEN, _kernel_may_send, _python_address, _Target

pytestmark = pytest.mark.unit

AF_NETLINK = 16


@pytest.mark.parametrize(("kind", "flags", "kernel"), [
    ((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP), 0, True),  # an address on TCP is ignored
    ((socket.AF_INET6, socket.SOCK_STREAM, 0), 0, True),
    ((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP), MSG_FASTOPEN, False),  # a connect
    ((socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP), 0, False),  # the address is used
    ((socket.AF_INET6, socket.SOCK_DGRAM, 0), 0, False),
    ((socket.AF_INET, socket.SOCK_STREAM, 132), 0, False),  # SCTP one-to-one still takes addresses
    ((socket.AF_UNIX, socket.SOCK_STREAM, 0), 0, True),  # refused by the kernel with an address
    ((socket.AF_UNIX, socket.SOCK_SEQPACKET, 0), 0, True),  # address ignored
    ((socket.AF_UNIX, socket.SOCK_DGRAM, 0), 0, False),
    ((AF_NETLINK, socket.SOCK_RAW, 0), 0, True),  # can only name netlink peers
])
def test_the_kernel_runs_a_send_only_where_no_address_can_matter(kind, flags, kernel):
    assert _kernel_may_send(kind, flags) is kernel


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
