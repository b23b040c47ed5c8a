"""jail's proxy on its own, with real loopback sockets (no sandbox): CONNECT and
the TLS server name, plain HTTP, asks, and addresses a name resolves to."""

from __future__ import annotations

import socket
import ssl
import textwrap
import threading
from pathlib import Path

import pytest

from jail.network.policy import NetworkPolicy
from jail.network.proxy import Proxy
from jail.profile.loader import merge
from jail.profile.schema import parse_text

pytestmark = pytest.mark.real


class Sink:
    """A loopback TCP server that keeps every byte it is sent and answers HTTP."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(65536)
                    self.received += data
                    if data.startswith(b"GET"):
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                except OSError:
                    pass
            self.done.set()


@pytest.fixture
def sink():
    server = Sink()
    yield server
    server.sock.close()


def make_proxy(text: str, asks: list | None = None, answer: bool = False) -> tuple[Proxy, list[dict]]:
    records: list[dict] = []
    parsed = parse_text(textwrap.dedent(text), "jail.toml")
    policy = NetworkPolicy(merge([parsed], Path("/w")).network, home=Path("/h"), workspace=Path("/w"))

    def ask(target, verdict, pid, detail):
        if asks is not None:
            asks.append((target, pid, detail))
        return answer

    proxy = Proxy(policy, record=lambda **fields: records.append(fields), ask=ask).start()
    return proxy, records


def exchange(proxy: Proxy, request: bytes, then: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
        client.sendall(request)
        reply = client.recv(4096)
        if then and reply.startswith(b"HTTP/1.1 200"):
            client.sendall(then)
            try:
                reply += client.recv(4096)
            except OSError:
                pass
        return reply


def client_hello(name: str) -> bytes:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_connect_is_decided_by_host_and_port(sink):
    proxy, records = make_proxy(f'[network]\ndefault = "deny"\nallow = ["localhost:{sink.port}"]\n')
    try:
        reply = exchange(proxy, f"CONNECT localhost:{sink.port} HTTP/1.1\r\n\r\n".encode(), b"tunnelled")
        assert reply.startswith(b"HTTP/1.1 200")
        assert sink.done.wait(10) and sink.received == b"tunnelled"
        refused = exchange(proxy, f"CONNECT localhost:{sink.port + 1} HTTP/1.1\r\n\r\n".encode())
        assert refused.startswith(b"HTTP/1.1 403") and b"jail.toml:2" in refused
        assert [(r["host"], r["verdict"]) for r in records] == [("localhost", "allow"), ("localhost", "deny")]
    finally:
        proxy.close()


def test_a_tls_server_name_other_than_the_connect_host_closes_the_tunnel(sink):
    proxy, records = make_proxy(f'[network]\nallow = ["localhost:{sink.port}"]\n')
    try:
        reply = exchange(proxy, f"CONNECT localhost:{sink.port} HTTP/1.1\r\n\r\n".encode(),
                         client_hello("evil.example"))
        assert reply == b"HTTP/1.1 200 Connection established\r\n\r\n"  # then closed, nothing relayed
        assert sink.done.wait(10)
        assert sink.received == b""
        assert records[-1]["verdict"] == "deny" and records[-1]["sni"] == "evil.example"
    finally:
        proxy.close()


def test_a_matching_tls_server_name_passes(sink):
    proxy, _ = make_proxy(f'[network]\nallow = ["localhost:{sink.port}"]\n')
    try:
        hello = client_hello("localhost")
        exchange(proxy, f"CONNECT localhost:{sink.port} HTTP/1.1\r\n\r\n".encode(), hello)
        assert sink.done.wait(10)
        assert sink.received == hello
    finally:
        proxy.close()


def test_plain_http_asks_with_method_and_path(sink):
    asks: list = []
    proxy, records = make_proxy("[network]\n", asks=asks, answer=True)
    try:
        reply = exchange(proxy, f"GET http://localhost:{sink.port}/v1/items?x=1 HTTP/1.1\r\n"
                         f"Host: localhost:{sink.port}\r\nProxy-Connection: keep-alive\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.1 200")
        assert asks == [(f"localhost:{sink.port}", None, ["GET", f"http://localhost:{sink.port}/v1/items"])]
        assert sink.received.startswith(b"GET /v1/items?x=1 HTTP/1.1\r\n")
        assert b"Proxy-Connection" not in sink.received
        assert records[-1]["verdict"] == "allow" and records[-1]["method"] == "GET"
    finally:
        proxy.close()


def test_no_answer_is_a_denial_and_nothing_is_resolved_or_sent(sink):
    asks: list = []
    proxy, records = make_proxy("[network]\n", asks=asks, answer=False)
    try:
        reply = exchange(proxy, b"GET http://nowhere.invalid/ HTTP/1.1\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 403")
        assert records[-1]["reason"].startswith("not approved") and "error" not in records[-1]
    finally:
        proxy.close()


def test_an_allowed_name_cannot_reach_a_denied_address(sink):
    proxy, records = make_proxy(f'[network]\nallow = ["localhost"]\ndeny = ["127.0.0.1:{sink.port}"]\n')
    try:
        reply = exchange(proxy, f"GET http://localhost:{sink.port}/ HTTP/1.1\r\n\r\n".encode())
        assert reply.startswith((b"HTTP/1.1 403", b"HTTP/1.1 502"))
        assert sink.received == b""
        assert any(r["verdict"] == "deny" and r["address"] == "127.0.0.1" for r in records)
    finally:
        proxy.close()


@pytest.mark.parametrize("request_bytes", [b"BREW coffee\r\n\r\n", b"GET /relative HTTP/1.1\r\n\r\n",
                                           b"CONNECT nohost HTTP/1.1\r\n\r\n"])
def test_bad_requests_get_a_clear_400(request_bytes: bytes):
    proxy, _ = make_proxy("[network]\n")
    try:
        assert exchange(proxy, request_bytes).startswith(b"HTTP/1.1 400")
    finally:
        proxy.close()


def test_environment_points_at_the_proxy_and_keeps_loopback_direct():
    proxy, _ = make_proxy("[network]\n")
    try:
        env = proxy.environment({"NO_PROXY": "corp.internal"})
        url = f"http://127.0.0.1:{proxy.port}"
        assert {env[k] for k in ("HTTP_PROXY", "https_proxy", "ALL_PROXY")} == {url}
        assert env["NO_PROXY"] == "localhost,127.0.0.1,::1,corp.internal"
        assert env["NODE_USE_ENV_PROXY"] == "1"
        assert proxy.own_rule().pattern == f"127.0.0.1:{proxy.port}"
    finally:
        proxy.close()
