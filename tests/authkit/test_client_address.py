"""Issue 14, finding 9: address budgets per client, not per spelling or per IPv6 address.

35 attempts from 35 addresses of one IPv6 /64 were never throttled, and
``1.2.3.4:port``, ``[v6]``, ``[v6]:port``, zone ids and leading zeros each got a
bucket of their own. The properties: every spelling of one address, and every
address of one /64, map to one key; different IPv4 addresses and different /64
networks never share one.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit import LoginThrottle
from authkit._client_address import client_address_key
from authkit.errors import ConfigurationError, TooManyAttempts
from authkit.throttle import ThrottleRules

ipv4 = st.ip_addresses(v=4).map(lambda ip: ipaddress.IPv4Address(int(ip)))
ports = st.integers(min_value=0, max_value=65535)
zones = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)


@st.composite
def ipv4_spelling(draw: st.DrawFn, ip: ipaddress.IPv4Address) -> str:
    octets = [
        draw(st.sampled_from(["", "0", "00"])) + str(o) if o < 10 or draw(st.booleans()) else str(o)
        for o in ip.packed
    ]
    octets = [o if len(o) <= 3 else o[-3:] for o in octets]
    dotted = ".".join(octets)
    host = draw(
        st.sampled_from([dotted, f"::ffff:{ip}", f"::FFFF:{dotted}", f"0:0:0:0:0:ffff:{ip}"])
    )
    bracketed = ":" in host
    form = draw(st.sampled_from(["plain", "port", "brackets"] if bracketed else ["plain", "port"]))
    if form == "port":
        host = f"[{host}]:{draw(ports)}" if bracketed else f"{host}:{draw(ports)}"
    elif form == "brackets":
        host = f"[{host}]"
    return draw(st.sampled_from(["", " ", "\t"])) + host + draw(st.sampled_from(["", " "]))


@st.composite
def ipv6_spelling(draw: st.DrawFn, ip: ipaddress.IPv6Address) -> str:
    text = draw(st.sampled_from([ip.compressed, ip.exploded, ip.exploded.upper()]))
    if draw(st.booleans()):
        text += "%" + draw(zones)
    form = draw(st.sampled_from(["plain", "brackets", "port", "uri-zone"]))
    if form == "brackets":
        return f"[{text}]"
    if form == "port":
        return f"[{text}]:{draw(ports)}"
    if form == "uri-zone":
        return f"[{ip.compressed}%25{draw(zones)}]:{draw(ports)}"
    return text


def in_network(network: int, interface: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((network << 64) | interface)


networks = st.integers(min_value=1 << 61, max_value=(1 << 64) - 1)  # global unicast-ish
interfaces = st.integers(min_value=0, max_value=(1 << 64) - 1)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), ip=ipv4)
def test_every_spelling_of_one_ipv4_address_is_one_key(
    data: st.DataObject, ip: ipaddress.IPv4Address
) -> None:
    spelling = data.draw(ipv4_spelling(ip))
    assert client_address_key(spelling) == str(ip), spelling


@settings(max_examples=300, deadline=None)
@given(data=st.data(), network=networks, first=interfaces, second=interfaces)
def test_every_spelling_of_every_address_of_one_64_is_one_key(
    data: st.DataObject, network: int, first: int, second: int
) -> None:
    a = data.draw(ipv6_spelling(in_network(network, first)))
    b = data.draw(ipv6_spelling(in_network(network, second)))
    assert (
        client_address_key(a)
        == client_address_key(b)
        == str(ipaddress.IPv6Network((network << 64, 64)))
    ), (a, b)


@settings(max_examples=300, deadline=None)
@given(first=ipv4, second=ipv4)
def test_different_ipv4_addresses_never_share_a_key(
    first: ipaddress.IPv4Address, second: ipaddress.IPv4Address
) -> None:
    if first != second:
        assert client_address_key(str(first)) != client_address_key(str(second))


@settings(max_examples=300, deadline=None)
@given(first=networks, second=networks, interface=interfaces)
def test_different_64s_never_share_a_key(first: int, second: int, interface: int) -> None:
    if first != second:
        a, b = in_network(first, interface), in_network(second, interface)
        assert client_address_key(str(a)) != client_address_key(str(b))


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("1.2.3.4:8080", "1.2.3.4"),
        ("010.001.002.003", "10.1.2.3"),
        ("[2001:db8::1]", "2001:db8::/64"),
        ("[2001:db8::1]:443", "2001:db8::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("[fe80::1%25eth0]:80", "fe80::/64"),
        ("2001:DB8:0:0:FFFF::7", "2001:db8::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("[::ffff:192.0.2.1]:1", "192.0.2.1"),
        ("unknown", "unknown"),
        ("1.2.3.4:notaport", "1.2.3.4:notaport"),
        ("[2001:db8::1]junk", "[2001:db8::1]junk"),
        ("256.1.1.1", "256.1.1.1"),
        ("", ""),
    ],
)
def test_the_spellings_of_the_probe(spelling: str, key: str) -> None:
    assert client_address_key(spelling) == key


def test_the_prefix_length_is_a_setting() -> None:
    assert client_address_key("2001:db8:1:2:3:4:5:6", 48) == "2001:db8:1::/48"
    assert client_address_key("2001:db8:1:2:3:4:5:6", 128) == "2001:db8:1:2:3:4:5:6/128"
    assert ThrottleRules().ipv6_prefix_length == 64


@pytest.mark.parametrize("value", [0, 31, 129, True, "64"])
def test_an_unreasonable_prefix_length_is_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match="ipv6_prefix_length"):
        ThrottleRules(ipv6_prefix_length=value)  # type: ignore[arg-type]


def test_35_addresses_of_one_64_share_the_address_budget() -> None:
    """The probe's attack: one /64, a new address per attempt, 30 failures a minute."""
    throttle = LoginThrottle(rules=ThrottleRules(pair_failures=100, account_failures=100))
    refused = 0
    for i in range(35):
        address = f"2001:db8:5:6:{i:x}::{i + 1:x}"
        try:
            throttle.acquire_login(address, f"user{i}")
        except TooManyAttempts:
            refused += 1
            continue
        throttle.record_failure(address, f"user{i}", acquired=True)
    assert refused == 5


def test_a_128_prefix_counts_single_addresses() -> None:
    throttle = LoginThrottle(rules=ThrottleRules(address_failures=1, ipv6_prefix_length=128))
    throttle.record_failure("2001:db8::1", "a")
    throttle.check_login("2001:db8::2", "b")
    with pytest.raises(TooManyAttempts):
        throttle.check_login("[2001:db8::1]:9", "b")


def test_registration_is_budgeted_per_64_too() -> None:
    throttle = LoginThrottle(rules=ThrottleRules(registrations=2))
    throttle.register_attempt("2001:db8::1")
    throttle.register_attempt("2001:db8::2")
    with pytest.raises(TooManyAttempts):
        throttle.register_attempt("[2001:db8::3]:1234")
