"""Destination rules as people write them: parsing and matching. Pure."""

from __future__ import annotations

import pytest

from jail.network.rules import Destination, DestinationError, parse_destination, parse_example, parse_ip

pytestmark = pytest.mark.unit


def dest(text: str) -> Destination:
    return parse_example(text)


MATCHES = [
    # pattern, example, covered
    ("127.0.0.1", "127.0.0.1:80", True),
    ("127.0.0.1", "127.0.0.2:80", False),
    ("127.0.0.0/8", "127.255.1.2:1", True),
    ("127.0.0.0/8", "128.0.0.1:1", False),
    ("10.0.0.0/8:5432", "10.9.8.7:5432", True),
    ("10.0.0.0/8:5432", "10.9.8.7:5433", False),
    ("10.0.0.0/8:5432", "11.0.0.1:5432", False),
    ("::1", "[::1]:443", True),
    ("::1", "127.0.0.1:443", False),
    ("[::1]:8080", "[::1]:8080", True),
    ("[::1]:8080", "[::1]:8081", False),
    ("fd00::/8", "[fd12:3456::1]:22", True),
    ("fd00::/8", "[fe80::1]:22", False),
    ("[fd00::/8]:443", "[fd00::1]:443", True),
    ("[fd00::/8]:443", "[fd00::1]:80", False),
    # IPv4-mapped IPv6 is the IPv4 address, in examples and in rules
    ("127.0.0.1:9", "[::ffff:127.0.0.1]:9", True),
    ("::ffff:10.0.0.0/104", "10.1.1.1:80", True),
    ("[::ffff:169.254.169.254]", "169.254.169.254:80", True),
    # ports
    ("*:443", "example.com:443", True),
    ("*:443", "1.2.3.4:443", True),
    ("*:443", "1.2.3.4:80", False),
    ("127.0.0.1:8000-8999", "127.0.0.1:8000", True),
    ("127.0.0.1:8000-8999", "127.0.0.1:8999", True),
    ("127.0.0.1:8000-8999", "127.0.0.1:9000", False),
    ("127.0.0.1:8000-8999", "127.0.0.1:7999", False),
    ("localhost:*", "localhost:1", True),
    ("github.com", "github.com:22", True),
    # host names and globs (case and a trailing dot do not matter)
    ("github.com:443", "GitHub.COM:443", True),
    ("github.com:443", "github.com.:443", True),
    ("github.com:443", "api.github.com:443", False),
    ("*.railway.app", "x.railway.app:443", True),
    ("*.railway.app", "a.b.railway.app:443", True),
    ("*.railway.app", "railway.app:443", False),
    ("*.railway.app", "evilrailway.app:443", False),
    ("api-?.example.com", "api-1.example.com:80", True),
    ("*", "anything.example:1", True),
    ("*", "1.2.3.4:5", True),
    # a name rule never matches a bare address, nor an address rule a bare name
    ("localhost", "127.0.0.1:80", False),
    ("127.0.0.1", "localhost:80", False),
]


@pytest.mark.parametrize(("pattern", "example", "covered"), MATCHES)
def test_destination_matches(pattern: str, example: str, covered: bool) -> None:
    assert parse_destination(pattern).matches(dest(example)) is covered


def test_a_port_rule_never_matches_a_destination_without_a_port() -> None:
    assert not parse_destination("example.com:443").matches(Destination(host="example.com"))
    assert parse_destination("example.com").matches(Destination(host="example.com"))


def test_name_and_address_together_match_either_rule() -> None:
    both = Destination(host="metadata.example", address="169.254.169.254", port=80)
    assert parse_destination("169.254.169.254").matches(both)
    assert parse_destination("*.example").matches(both)


def test_unix_destinations_are_never_matched_by_address_rules() -> None:
    assert not parse_destination("*").matches(Destination(unix="/run/docker.sock", transport="unix"))


BAD = [
    ("", "empty destination"),
    ("github.com:0", "bad port"),
    ("github.com:65536", "bad port"),
    ("github.com:http", "bad port"),
    ("github.com:9-8", "bad port"),
    ("github.com:", "empty port"),
    ("[::1", '"[" without "]"'),
    ("[::1]x", 'expected ":PORT"'),
    ("10.0.0.0/33", "neither an IP address"),
    ("exa mple.com", "not a host name"),
    ("http://github.com", "is a URL"),
    (":443", "no host"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_destinations_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DestinationError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_destination(text)


@pytest.mark.parametrize("text", ["*.x.com:443", "example.com:0", "", "a b:1"])
def test_bad_examples(text: str) -> None:
    with pytest.raises(DestinationError):
        parse_example(text)


def test_unix_examples_are_paths() -> None:
    assert parse_example("/run/docker.sock") == Destination(unix="/run/docker.sock", transport="unix")


@pytest.mark.parametrize(("text", "expected"), [
    ("::ffff:10.1.2.3", "10.1.2.3"), ("[::1]", "::1"), ("10.0.0.1", "10.0.0.1"),
    ("fe80::1%eth0", "fe80::1"), ("example.com", None),
])
def test_parse_ip_normalises_mapped_addresses(text: str, expected: str | None) -> None:
    ip = parse_ip(text)
    assert (str(ip) if ip is not None else None) == expected


def test_destination_text_is_what_people_read() -> None:
    assert str(Destination(address="::1", port=443)) == "[::1]:443"
    both = Destination(host="github.com", address="140.82.1.1", port=443)
    assert str(both) == "github.com:443 (140.82.1.1)"
    assert str(Destination(unix="/run/x.sock")) == "unix:/run/x.sock"
