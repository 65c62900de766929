"""The key a client address is counted under by the throttle.

One client must get one budget however its address is spelled, and an IPv6 client
must not get a fresh budget per address: a single subscriber is routinely given a
whole /64 (RFC 6177, RIPE-690), so 2^64 addresses are one client, not 2^64 of them.
So every spelling is reduced to one key before counting:

- a port is dropped (``1.2.3.4:5678``, ``[2001:db8::1]:443``), and so are the
  brackets of an IPv6 literal (``[2001:db8::1]``, RFC 3986 §3.2.2);
- an IPv6 zone id is dropped (``fe80::1%eth0``, also ``%25eth0`` as URIs write it,
  RFC 6874): it names an interface of the receiving host, not another client;
- IPv4 octets with leading zeros are read as decimal (``010.001.002.003`` is
  10.1.2.3, as glibc's ``inet_pton`` and Python's ``ipaddress`` would if they
  accepted the spelling at all);
- an IPv4-mapped IPv6 address counts as its IPv4 address;
- any other IPv6 address counts as its network of ``ipv6_prefix`` bits (/64 by
  default), written in its canonical compressed form (RFC 5952).

Text that is no IP address at all (a misconfigured proxy's ``unknown``) is kept as
it is, trimmed: it still gets a budget, just not one shared with a real address.
"""

from __future__ import annotations

import ipaddress
import re

DEFAULT_IPV6_PREFIX = 64
_PORT = re.compile(r"[0-9]{1,5}")
_DOTTED_QUAD = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})")


def client_address_key(address: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The canonical key of ``address``: an IPv4 address, or an IPv6 network."""
    text = address.strip()
    host = _host_part(text)
    ip = _parse(host) if host is not None else None
    if ip is None:
        return text
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))


def _host_part(text: str) -> str | None:
    """``text`` without brackets, port and zone id; None when the shape is not an address's."""
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:]))):
            return None
        host = inner
    elif text.count(":") == 1:  # IPv4 (or a name) with a port; IPv6 has at least two
        host, _, port = text.partition(":")
        if not _PORT.fullmatch(port):
            return None
    else:
        host = text
    return host.partition("%")[0]


def _parse(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Leading zeros: ``ipaddress`` refuses them (CVE-2021-29921); read them as decimal.
    head, colon, tail = host.rpartition(":")
    quad = _DOTTED_QUAD.fullmatch(tail)
    if quad is None or any(int(octet) > 255 for octet in quad.groups()):
        return None
    dotted = ".".join(str(int(octet)) for octet in quad.groups())
    try:
        return ipaddress.ip_address(head + colon + dotted)
    except ValueError:
        return None


__all__ = ["DEFAULT_IPV6_PREFIX", "client_address_key"]
