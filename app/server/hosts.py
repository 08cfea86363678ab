"""The Host names a server answers to: its own names and addresses, never any name at all."""

from __future__ import annotations

import socket

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
UNSPECIFIED = ("0.0.0.0", "::", "[::]", "")


def machine_hosts(bind: str) -> list[str]:
    """This machine's names (hostname, FQDN) and addresses, the bound address, and the
    localhost names: what a browser on the LAN may put in Host. A DNS-rebinding page has
    its own name in Host, so it is refused."""
    names = {*LOCAL_HOSTS, socket.gethostname().lower(), _fqdn()}
    names.update(_addresses(socket.gethostname()))
    names.update(_outbound_addresses())
    if bind not in UNSPECIFIED:
        names.add(bind.strip("[]").lower())
    return sorted(n.lower() for n in names if n)  # as Guard reads Host: no brackets, no port


def _fqdn() -> str:
    try:
        return socket.getfqdn().lower()
    except OSError:
        return ""


def _addresses(name: str) -> set[str]:
    try:
        found = socket.getaddrinfo(name, None)
    except OSError:
        return set()
    return {str(info[4][0]).split("%")[0] for info in found}


def _outbound_addresses() -> set[str]:
    """The addresses this machine routes from (a UDP connect sends no packet)."""
    found = set()
    for family, target in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                found.add(str(probe.getsockname()[0]))
        except OSError:
            continue
    return found
