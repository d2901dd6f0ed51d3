"""Moving a guest to another host: libvirt's migration, as the migration service needs it.

A destination is named by a host and a transport; :func:`destination_uri`
turns them into the libvirt URI of the same driver on that host
(``qemu:///system`` + ``db2.example.com`` + ``tcp`` ->
``qemu+tcp://db2.example.com/system``). Host names are checked strictly
(DNS names, IPv4 and IPv6 addresses only) so that a client can add neither
a user, a port nor URI parameters such as ssh's ``command=``.

:func:`obstacles` tells why a guest cannot move (an empty list when it can);
:func:`migrate` moves it:

* a running guest, :attr:`Mode.LIVE` — copied while it runs;
* a running guest, :attr:`Mode.PAUSED` — paused while copied, resumed there;
* a running guest, :attr:`Mode.RESTART` — shut down here (the guest is asked
  and given ``shutdown_timeout`` seconds), its definition moved, started there;
* a guest that is shut off, any mode — its definition moves.

A persistent guest leaves its definition here and is defined there; a
transient one moves as it runs. When libvirt refuses, the guest stays where
it was (a guest shut down for a restart is started here again).
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import libvirt
from lxml import etree
from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIMError

from providers.virt import errors
from providers.virt.connection import Hypervisor
from providers.virt.domain import Domain, DomainState

__all__ = ["Mode", "Transport", "destination_uri", "migrate", "obstacles"]

_log = logging.getLogger(__name__)

#: A DNS name: dot-separated labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
#: How often a guest shutting down for a restart is looked at.
_SHUTDOWN_POLL_SECONDS = 0.25


class Transport(enum.Enum):
    """How the destination's libvirt is reached: the ``+transport`` of its URI."""

    SSH = "ssh"
    TLS = "tls"
    TLS_UNVERIFIED = "tls-unverified"
    TCP = "tcp"
    UNIX = "unix"


class Mode(enum.Enum):
    """What happens to a running guest while it moves."""

    LIVE = "live"
    PAUSED = "paused"
    RESTART = "restart"


def destination_uri(source_uri: str, host: str, transport: Transport) -> str:
    """The libvirt URI of ``source_uri``'s driver on ``host``, reached over ``transport``.

    Raises ``CIM_ERR_INVALID_PARAMETER`` for a host that is neither a DNS
    name nor an IP address, and for a source URI without a driver.
    """
    parts = urlsplit(source_uri)
    driver = parts.scheme.split("+", 1)[0].lower()
    if not driver:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"cannot migrate from {source_uri!r}: no driver")
    scheme = "tls" if transport is Transport.TLS_UNVERIFIED else transport.value
    query = "?no_verify=1" if transport is Transport.TLS_UNVERIFIED else ""
    return f"{driver}+{scheme}://{_uri_host(host)}{parts.path or '/'}{query}"


def obstacles(hv: Hypervisor, domain: Domain, uri: str) -> list[str]:
    """Why ``domain`` cannot move to ``uri`` (empty when it can).

    Raises ``CIM_ERR_FAILED`` when the destination cannot be reached.
    """
    with _connection(uri) as remote:
        with errors.translate(f"hypervisor at {uri}", uri):
            return list(_obstacles(hv, domain, remote, uri))


def migrate(
    hv: Hypervisor, domain: Domain, uri: str, mode: Mode, *, shutdown_timeout: float = 120.0
) -> None:
    """Move ``domain`` to the hypervisor at ``uri`` (see the module's description)."""
    with _connection(uri) as remote:
        with errors.translate(f"hypervisor at {uri}", uri):
            found = list(_obstacles(hv, domain, remote, uri))
        if found:
            raise CIMError(CIM_ERR_FAILED,
                           f"guest {domain.name!r} cannot move to {uri}: {'; '.join(found)}")  # fmt: skip
        persistent = domain.is_persistent()
        if not domain.is_active:
            _move_definition(hv, domain, remote, uri)
        elif mode is Mode.RESTART:
            _restart_there(hv, domain, remote, uri, shutdown_timeout)
        else:
            flags = libvirt.VIR_MIGRATE_LIVE if mode is Mode.LIVE else 0
            if persistent:
                flags |= libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
            _migrate(hv, domain, remote, flags, uri)
    hv.invalidate(domain.uuid)
    _log.info("moved guest %r from %s to %s (%s)", domain.name, hv.uri, uri, mode.value)


# --- the steps -----------------------------------------------------------------------------


def _obstacles(
    hv: Hypervisor, domain: Domain, remote: libvirt.virConnect, uri: str
) -> Iterator[str]:
    local_type = hv.run("hypervisor", lambda conn: conn.getType(), read=True)
    if remote.getType() != local_type:
        yield f"the destination runs {remote.getType()}, not {local_type}"
        return
    if remote.getVersion() < hv.run("hypervisor", lambda conn: conn.getVersion(), read=True):
        yield "the destination's hypervisor is older than this one"
    remote_host = _host_uuid(remote.getCapabilities())
    if remote_host is not None and remote_host == _host_uuid(etree.tostring(hv.capabilities())):
        yield "the destination is this host"
    for other in remote.listAllDomains():
        if other.name() == domain.name:
            yield f"the destination already has a guest named {domain.name!r}"
        elif other.UUIDString() == domain.uuid:
            yield f"the destination already has a guest with UUID {domain.uuid}"
    arch, domain_type = domain.xml.arch, domain.xml.domain_type
    if arch and domain_type and not _runs(remote.getCapabilities(), arch, domain_type):
        yield f"the destination cannot run {domain_type} guests of architecture {arch}"


def _move_definition(
    hv: Hypervisor, domain: Domain, remote: libvirt.virConnect, uri: str
) -> None:
    """Move a shut-off guest's definition (libvirt's offline migration)."""
    flags = (libvirt.VIR_MIGRATE_OFFLINE | libvirt.VIR_MIGRATE_PERSIST_DEST
             | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)  # fmt: skip
    _migrate(hv, domain, remote, flags, uri)


def _restart_there(
    hv: Hypervisor, domain: Domain, remote: libvirt.virConnect, uri: str, timeout: float
) -> None:
    """Shut the guest down, move its definition, start it at ``uri``."""
    if not domain.is_persistent():
        raise CIMError(CIM_ERR_FAILED,
                       f"guest {domain.name!r} is transient: it has no definition to restart "
                       f"from at {uri}")  # fmt: skip
    domain.shutdown()
    _wait_until_shut_off(hv, domain, timeout)
    try:
        _move_definition(hv, domain, remote, uri)
    except CIMError:
        hv.domain(domain.name).start()
        raise
    with errors.translate(f"guest {domain.name!r}", uri, action="start"):
        remote.lookupByName(domain.name).create()


def _wait_until_shut_off(hv: Hypervisor, domain: Domain, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hv.domain(domain.name).state is DomainState.SHUTOFF:
            return
        time.sleep(_SHUTDOWN_POLL_SECONDS)
    raise CIMError(CIM_ERR_FAILED,
                   f"guest {domain.name!r} on {hv.uri} did not shut down within {timeout:g} s; "
                   "it was not moved")  # fmt: skip


def _migrate(
    hv: Hypervisor, domain: Domain, remote: libvirt.virConnect, flags: int, uri: str
) -> None:
    def move(conn: libvirt.virConnect) -> None:
        conn.lookupByUUIDString(domain.uuid).migrate(remote, flags, None, None, 0)

    try:
        hv.run(f"guest {domain.name!r}", move, read=False, action=f"migrate to {uri}")
    finally:
        hv.invalidate(domain.uuid)


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def _connection(uri: str) -> Iterator[libvirt.virConnect]:
    try:
        remote = libvirt.open(uri)
    except libvirt.libvirtError as error:
        raise errors.unreachable(uri, error) from error
    try:
        yield remote
    finally:
        try:
            remote.close()
        except libvirt.libvirtError as error:
            _log.debug("closing %s: %s", uri, error)


def _uri_host(host: str) -> str:
    """``host`` as a URI's authority; ``CIM_ERR_INVALID_PARAMETER`` unless a name or address."""
    try:
        address = ipaddress.ip_address(host[1:-1] if host.startswith("[") else host)
    except ValueError:
        if len(host) > 253 or not _HOST_NAME.fullmatch(host):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"DestinationHost {host!r} is neither a host name nor an IP "
                           "address") from None  # fmt: skip
        return host
    return f"[{address}]" if address.version == 6 else str(address)


def _host_uuid(capabilities: str | bytes) -> str | None:
    return etree.fromstring(_bytes(capabilities)).findtext("host/uuid")


def _runs(capabilities: str | bytes, arch: str, domain_type: str) -> bool:
    """Whether a host's capabilities list ``domain_type`` guests of ``arch``."""
    root = etree.fromstring(_bytes(capabilities))
    return any(candidate.get("name") == arch and domain.get("type") == domain_type
               for candidate in root.iterfind("guest/arch")
               for domain in candidate.iterfind("domain"))  # fmt: skip


def _bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text
