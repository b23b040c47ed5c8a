"""jail's HTTP proxy: decides connections by host name, then connects out itself.

It listens on 127.0.0.1 (an ephemeral port) in jail's own process, outside the
sandbox, and the sandbox's processes are pointed at it by the usual proxy
variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, lowercase forms; NO_PROXY keeps
loopback direct). It serves:
  - CONNECT host:port (HTTPS and other tunnels): decided by host and port; then
    the first bytes the client sends are read, and a TLS ClientHello whose
    server name (SNI) is not the CONNECT host closes the tunnel;
  - plain HTTP requests with an absolute URI: decided by the URI's host and
    port; the method and URL path are shown in an approval prompt.
The name is decided before it is resolved (a denied name is never looked up);
the addresses it resolves to then meet the address rules, so a denied address
stays denied under any name. A loopback TCP connection carries no peer
credentials, so the proxy cannot tell which sandboxed process is asking: its
records and prompts say "via proxy".
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from jail.network.policy import NetworkPolicy, jail_rule
from jail.network.rules import Destination, parse_ip
from jail.network.sni import NotTLS, looks_like_tls, server_name
from jail.policy import Action, Verdict
from jail.profile.model import NET_DENY

HEAD_MAX = 64 << 10
HELLO_WAIT = 5.0  # seconds to wait for a tunnel's first bytes (server-speaks-first protocols send none)
IO_TIMEOUT = 60.0
SNI_RULE = jail_rule("CONNECT host = TLS server name", "the TLS server name is not the CONNECT host")
_DROPPED_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")

# ask(target, verdict, pid, detail) -> allowed (jail/supervisor/approvals.py connect_asker).
Asker = Callable[[str, Verdict, "int | None", "list[str] | None"], bool]


class BadRequest(Exception):
    """A request the proxy will not serve; the message is sent back as the reason."""


class Proxy:
    def __init__(self, policy: NetworkPolicy, *, record: Callable[..., None], ask: Asker | None = None,
                 denied: Callable[[str, Verdict], None] | None = None) -> None:
        self.policy = policy
        self.record = record  # writes one audit record (keyword fields)
        self.ask = ask
        self.denied = denied or (lambda target, verdict: None)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = threading.Event()

    def start(self) -> Proxy:
        threading.Thread(target=self._accept, name="jail-proxy", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()

    def own_rule(self):
        """The rule that lets the sandbox reach this proxy whatever else the rules say."""
        return jail_rule(f"127.0.0.1:{self.port}", "jail's proxy")

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """Proxy variables for the sandbox (loopback stays direct)."""
        url = f"http://127.0.0.1:{self.port}"
        keep = [item for item in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(",") if item]
        no_proxy = ",".join(dict.fromkeys(["localhost", "127.0.0.1", "::1", *keep]))
        out = {}
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            out[name] = out[name.lower()] = url
        out["NO_PROXY"] = out["no_proxy"] = no_proxy
        out["NODE_USE_ENV_PROXY"] = "1"  # Node 24 (and 22.21+): fetch and http honour the variables
        return out

    # -- serving -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(IO_TIMEOUT)
            try:
                head, rest = _read_head(client)
                method, target, version, headers = _parse_head(head)
                if method == "CONNECT":
                    self._tunnel(client, target, rest)
                else:
                    self._forward(client, method, target, version, headers, rest)
            except BadRequest as error:
                _reply(client, 400, str(error))
            except OSError:
                pass
            except Exception as error:  # a bug in jail: refuse, and say so in the audit log
                _reply(client, 502, "jail: internal error in the proxy")
                with contextlib.suppress(Exception):
                    self.record(event="error", via="proxy", verdict="deny",
                                reason=f"{type(error).__name__}: {error}")

    def _tunnel(self, client: socket.socket, target: str, rest: bytes) -> None:
        host, port = _host_port(target, None)
        upstream = self._open(client, host, port, None)
        if upstream is None:
            return
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            first = rest or _first_bytes(client)
            if looks_like_tls(first):
                first = _whole_record(client, first)
                try:
                    name = server_name(first)
                except (NotTLS, ValueError, IndexError):
                    name = None
                if name is not None and name.lower().rstrip(".") != host.lower().rstrip("."):
                    verdict = Verdict(Action.DENY, SNI_RULE, f"TLS server name {name!r} is not {host!r}")
                    self._log(Destination(host=host, port=port), verdict, method="CONNECT", sni=name)
                    self.denied(f"{host}:{port} (TLS name {name})", verdict)
                    return
            if first:
                upstream.sendall(first)
            _relay(client, upstream)

    def _forward(self, client: socket.socket, method: str, target: str, version: str,
                 headers: list[tuple[bytes, bytes]], rest: bytes) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            raise BadRequest("jail's proxy serves absolute http:// URLs and CONNECT")
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        port = url.port or 80
        host = url.hostname
        upstream = self._open(client, host, port, [method, f"http://{url.netloc}{url.path or '/'}"])
        if upstream is None:
            return
        with upstream:
            lines = [f"{method} {path} {version}".encode()]
            lines += [name + b": " + value for name, value in headers if name.lower() not in _DROPPED_HEADERS]
            if not any(name.lower() == b"host" for name, _ in headers):
                lines.append(b"Host: " + url.netloc.encode())
            lines.append(b"Connection: close")
            upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
            _relay(client, upstream)

    # -- deciding ------------------------------------------------------------------------

    def _open(self, client: socket.socket, host: str, port: int, detail: list[str] | None):
        """Decide, resolve, decide the addresses, connect. None: refused (already answered)."""
        via = "CONNECT" if detail is None else detail[0]
        ip = parse_ip(host)
        named = Destination(address=str(ip), port=port) if ip else Destination(host=host.lower(), port=port)
        verdict = self.policy.decide(named)
        if verdict.action is Action.ASK:
            allowed = bool(self.ask and self.ask(f"{named}", verdict, None, detail))
            verdict = Verdict(Action.ALLOW if allowed else Action.DENY, verdict.rule,
                              ("approved: " if allowed else "not approved: ") + verdict.reason)
        if verdict.action is not Action.ALLOW:
            self._log(named, verdict, method=via, path=detail[1] if detail else None)
            self.denied(str(named), verdict)
            _reply(client, 403, f"jail: {named} denied by {verdict.rule.where} ({verdict.reason})")
            return None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            self._log(named, verdict, method=via, path=detail[1] if detail else None, error=str(error))
            _reply(client, 502, f"jail: cannot resolve {host}: {error}")
            return None
        last_error: OSError | None = None
        for family, kind, proto, _, sockaddr in infos:
            resolved = Destination(host=None if ip else host.lower(), address=str(parse_ip(sockaddr[0])),
                                   port=port)
            by_address = self.policy.explain(Destination(address=resolved.address, port=port)).verdict
            # A deny rule on the address, not the default: the name was decided already.
            if by_address.action is Action.DENY and by_address.rule.kind == NET_DENY:
                self._log(resolved, by_address, method=via, path=detail[1] if detail else None)
                self.denied(str(resolved), by_address)
                last_error = PermissionError(f"{resolved.address} denied by {by_address.rule.where}")
                continue
            self._log(resolved, verdict, method=via, path=detail[1] if detail else None)
            upstream = socket.socket(family, kind, proto)
            upstream.settimeout(IO_TIMEOUT)
            try:
                upstream.connect(sockaddr)
                return upstream
            except OSError as error:
                upstream.close()
                last_error = error
        status = 403 if isinstance(last_error, PermissionError) else 502
        _reply(client, status, f"jail: cannot connect to {named}: {last_error}")
        return None

    def _log(self, dest: Destination, verdict: Verdict, **extra) -> None:
        self.record(event="connect", via="proxy", host=dest.host, address=dest.address, port=dest.port,
                    verdict=verdict.action.value, rule=verdict.rule.where, pattern=verdict.rule.pattern,
                    reason=verdict.reason, **{k: v for k, v in extra.items() if v is not None})


# -- HTTP plumbing -----------------------------------------------------------------------


def _read_head(client: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            raise BadRequest("the request ended before its headers did")
        data += chunk
        if len(data) > HEAD_MAX:
            raise BadRequest("request headers too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    parts = lines[0].decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest("malformed request line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("malformed header line")
        headers.append((name.strip(), value.strip()))
    return parts[0].upper(), parts[1], parts[2], headers


def _host_port(target: str, default: int | None) -> tuple[str, int]:
    if target.startswith("["):
        host, _, port = target[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = target.rpartition(":") if ":" in target else (target, "", "")
    if not port and default is not None:
        return host, default
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRequest(f"CONNECT needs host:port, not {target!r}")
    return host, int(port)


def _reply(client: socket.socket, status: int, message: str) -> None:
    reasons = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}
    body = (message + "\n").encode("utf-8", "replace")
    with contextlib.suppress(OSError):
        client.sendall(f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: text/plain\r\n"
                       f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)


def _first_bytes(client: socket.socket) -> bytes:
    ready, _, _ = select.select([client], [], [], HELLO_WAIT)
    return client.recv(16384) if ready else b""


def _whole_record(client: socket.socket, data: bytes) -> bytes:
    """Read on until the first TLS record (the ClientHello) is complete."""
    need = 5 + int.from_bytes(data[3:5], "big") if len(data) >= 5 else 5
    while len(data) < need:
        chunk = client.recv(need - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until both sides have finished sending."""
    open_ends = {a: b, b: a}
    while open_ends:
        ready, _, _ = select.select(list(open_ends), [], [], IO_TIMEOUT)
        if not ready:
            return
        for src in ready:
            try:
                chunk = src.recv(65536)
            except OSError:
                chunk = b""
            dst = open_ends[src]
            if chunk:
                dst.sendall(chunk)
            else:
                del open_ends[src]
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
