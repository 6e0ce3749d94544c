"""Node URLs are outbound calls from our servers, so a provider must not point them inward.

Refused: any scheme but http/https, and (unless settings.TRITON_ALLOW_PRIVATE_NODES, true only in
development and tests, or the host is in settings.TRITON_ALLOWED_HOSTS) every address that is
loopback, private, link-local (which covers the 169.254.169.254 metadata service), multicast,
reserved, unspecified or otherwise not global (carrier-grade NAT's 100.64.0.0/10), checked on
every address the name RESOLVES to, not the literal alone, and through IPv4-mapped IPv6.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from compute.errors import UrlRefused

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, why in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local (cloud metadata) address"),
        ("is_private", "a private address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_unspecified", "an unspecified address"),
    ):
        if getattr(ip, flag):
            return f"{address} is {why}"
    if not ip.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT's shared space: not the internet
        return f"{address} is not a public address"
    return None


def node_url_check(url: str, *, resolve: bool = True) -> str:
    """The URL, normalised (no trailing slash), if our servers may call it; raises UrlRefused."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("A node URL starts with http:// or https://.", detail={"triton_url": [url]})
    host = (parts.hostname or "").lower()
    if not host:
        raise UrlRefused("The node URL has no host.", detail={"triton_url": [url]})
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise UrlRefused("The node URL's port is not a number.", detail={"triton_url": [url]}) from exc
    normalised = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    if getattr(settings, "TRITON_ALLOW_PRIVATE_NODES", False) or host in settings.TRITON_ALLOWED_HOSTS:
        return normalised
    if host in METADATA_HOSTS:
        raise UrlRefused(f"{host} is a cloud metadata service.", detail={"triton_url": [url]})
    if not resolve:
        return normalised
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise UrlRefused(f"{host} does not resolve.", detail={"triton_url": [url]}) from exc
    for info in infos:
        problem = _address_problem(str(info[4][0]))
        if problem:
            raise UrlRefused(
                f"Node URLs must be public: {host} resolves to {problem}.", detail={"triton_url": [url]}
            )
    return normalised
