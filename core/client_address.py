"""Who is asking: the client's address, also behind a reverse proxy.

Behind a proxy every request comes from the proxy's address, so per-address limits would count all
visitors as one. The proxy tells the client's address in ``X-Forwarded-For``, but any client can send that
header too: it is read only when the peer is listed in ``TRUSTED_PROXIES`` (addresses or networks), and then
from the right, skipping the trusted proxies, so an address a client wrote itself is never taken.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The address of the client behind this request (the peer itself unless it is a trusted proxy)."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    if peer is None or not trusted:
        return str(peer) if peer else None

    def is_trusted(address) -> bool:
        return any(address in network for network in trusted)

    client = peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        if not is_trusted(client):
            break
        address = _address(hop)
        if address is None:  # written by the client itself: the last trusted proxy's peer is the client
            break
        client = address
    return str(client)


def client_key(address: str | None) -> str:
    """The client a per-client limit counts: an IPv4 address, or an IPv6 address's /64 (one host may hold a
    whole /64, and would otherwise be a new client with every request); "-" when there is no address."""
    parsed = _address(address or "")
    if parsed is None:
        return "-"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
