"""The server name in a TLS ClientHello, from hellos Python's own TLS stack writes. Pure."""

from __future__ import annotations

import ssl

import pytest

from jail.network.sni import NotTLS, looks_like_tls, server_name

pytestmark = pytest.mark.unit


def client_hello(name: str | None) -> bytes:
    """The first bytes a TLS client sends, made in memory (no socket)."""
    context = ssl.create_default_context()
    if name is None:
        context.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@pytest.mark.parametrize("name", ["api.anthropic.com", "localhost", "a-b.example.org"])
def test_the_name_asked_for_is_read(name: str) -> None:
    hello = client_hello(name)
    assert looks_like_tls(hello)
    assert server_name(hello) == name


def test_a_hello_without_a_name() -> None:
    assert server_name(client_hello(None)) is None


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\n", b"SSH-2.0-OpenSSH_9.6\r\n", b""])
def test_other_protocols_are_not_tls(data: bytes) -> None:
    assert not looks_like_tls(data)
    with pytest.raises(NotTLS):
        server_name(data)


def test_a_truncated_hello_is_an_error_not_a_name() -> None:
    hello = client_hello("example.com")
    with pytest.raises((ValueError, IndexError)):
        server_name(hello[:5] + hello[5:40])
