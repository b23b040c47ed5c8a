"""Network destinations as people write them, and what they match. Pure.

A destination rule is `HOST[:PORT]`:
  - HOST is a domain glob (`github.com`, `*.railway.app`; `*` spans dots, case
    does not matter), an IP address (`127.0.0.1`, `::1`, `[::1]` when a port
    follows) or a CIDR block (`10.0.0.0/8`, `[fd00::/8]:443`); `*` alone is
    every host and every address;
  - PORT is a number, a range `8000-8999` or `*`; without one, any port.
A unix socket rule is `{ unix = "PATH-GLOB" }`, matched against the socket file
actually found (the same globs as [files]).

A domain glob matches a host *name*, which only the proxy sees (CONNECT target,
Host header); a direct connection from the sandbox carries an address only, so
it meets IP and CIDR rules (and `*`). IPv4-mapped IPv6 addresses
(`::ffff:10.1.2.3`) are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOST_GLOB = re.compile(r"[A-Za-z0-9*?_.-]+\Z")
_PORT_MAX = 65535


class DestinationError(ValueError):
    """A rule text that is not a destination; the message says what was expected."""


@dataclass(frozen=True)
class Destination:
    """One connection attempt as policy sees it."""

    address: str | None = None  # normalised IP text; None when only a name is known
    port: int | None = None
    host: str | None = None  # host name, when the proxy saw one
    unix: str | None = None  # resolved path of a unix socket
    transport: str = "tcp"  # "tcp", "udp" or "unix"

    def __str__(self) -> str:
        if self.unix is not None:
            return f"unix:{self.unix}"
        name = self.host or self.address or "?"
        if ":" in name:
            name = f"[{name}]"
        shown = f"{name}:{self.port}" if self.port is not None else name
        if self.host and self.address and self.host != self.address:
            shown += f" ({self.address})"
        return shown


@dataclass(frozen=True)
class Pattern:
    """A parsed destination rule."""

    host: str | None = None  # lowercase domain glob; "*" = anything
    network: IPNetwork | None = None
    ports: tuple[int, int] | None = None  # inclusive range; None = any port
    unix: str | None = None  # a path glob (matched by the caller's RuleMatcher)

    def matches(self, dest: Destination) -> bool:
        if self.unix is not None or dest.unix is not None:
            return False  # unix rules are matched by path, elsewhere
        if self.ports is not None and (dest.port is None or not
                                       self.ports[0] <= dest.port <= self.ports[1]):
            return False
        if self.host == "*":
            return True
        if self.network is not None:
            ip = parse_ip(dest.address) if dest.address else None
            if ip is None and dest.host:
                ip = parse_ip(dest.host)
            return ip is not None and ip.version == self.network.version and ip in self.network
        if self.host is not None and dest.host:
            return fnmatch.fnmatchcase(dest.host.lower().rstrip("."), self.host)
        return False


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, with IPv4-mapped IPv6 turned into its IPv4 address; None if not an IP."""
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def normalise_address(text: str) -> str:
    ip = parse_ip(text)
    return str(ip) if ip is not None else text


def parse_ports(text: str) -> tuple[int, int] | None:
    if text == "*":
        return None
    low, sep, high = text.partition("-")
    if not low.isdigit() or (sep and not high.isdigit()):
        raise DestinationError(f'bad port "{text}": expected a number, a range like 8000-8999, or *')
    first, last = int(low), int(high) if sep else int(low)
    if not 0 < first <= last <= _PORT_MAX:
        raise DestinationError(f'bad port "{text}": ports run from 1 to {_PORT_MAX}, low-high')
    return first, last


def _network(text: str) -> IPNetwork | None:
    """An IP or CIDR as a network (a single address is a /32 or /128)."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and \
            net.network_address.ipv4_mapped is not None:
        mapped = net.network_address.ipv4_mapped
        return ipaddress.ip_network(f"{mapped}/{net.prefixlen - 96}", strict=False)
    return net


def _split(text: str) -> tuple[str, str | None]:
    """HOST and PORT of `HOST[:PORT]`, with `[v6]:port` and bare IPv6."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise DestinationError(f'"{text}": "[" without "]"')
        rest = text[end + 1:]
        if rest and not rest.startswith(":"):
            raise DestinationError(f'"{text}": expected ":PORT" after "]"')
        return text[1:end], rest[1:] if rest else None
    if text.count(":") > 1:  # a bare IPv6 address or block: no port
        return text, None
    host, sep, port = text.partition(":")
    return host, port if sep else None


def parse_destination(text: str) -> Pattern:
    """A rule text as written in a profile; DestinationError says what is wrong."""
    text = text.strip()
    if not text:
        raise DestinationError("empty destination")
    if "://" in text:
        raise DestinationError(f'"{text}" is a URL; a destination is HOST[:PORT], e.g. "github.com:443"')
    host, port = _split(text)
    if port == "":
        raise DestinationError(f'"{text}": empty port after ":"')
    ports = parse_ports(port) if port is not None else None
    if not host:
        raise DestinationError(f'"{text}": no host')
    if host == "*":
        return Pattern(host="*", ports=ports)
    network = _network(host)
    if network is not None:
        return Pattern(network=network, ports=ports)
    if "/" in host or ":" in host:
        raise DestinationError(f'"{host}" is neither an IP address, a CIDR block nor a host name')
    if not _HOST_GLOB.match(host):
        raise DestinationError(f'"{host}" is not a host name (letters, digits, "-", "." and the '
                               'wildcards * ?)')
    return Pattern(host=host.lower().rstrip("."), ports=ports)


def parse_example(text: str) -> Destination:
    """A `match`/`no_match` example: `host:port`, `ip:port`, or a unix path."""
    if text.startswith("/"):
        return Destination(unix=text, transport="unix")
    host, port = _split(text.strip())
    number = None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) <= _PORT_MAX:
            raise DestinationError(f'example "{text}": the port must be a number from 1 to {_PORT_MAX}')
        number = int(port)
    ip = parse_ip(host)
    if ip is not None:
        return Destination(address=str(ip), port=number)
    if not host or not _HOST_GLOB.match(host) or "*" in host or "?" in host:
        raise DestinationError(f'example "{text}": expected HOST:PORT, IP:PORT or /path/to/socket')
    return Destination(host=host.lower(), port=number)
