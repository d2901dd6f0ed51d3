"""libvirt's snapshots of a domain (``virDomainSnapshot*``): records read from their XML.

A snapshot keeps a domain's disks, and for a domain that ran its memory
too, at one moment; reverting to it puts the domain back as it was then.
Snapshots form a tree (each names its parent), and libvirt marks one as the
domain's *current* snapshot: the last taken or reverted to, the one the
domain's present state descends from.

libvirt sends no events for snapshots, so nothing here is cached: every
request reads them afresh (:meth:`~providers.virt.domain.Domain.snapshots`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import libvirt
from lxml import etree
from lxml.builder import E

from providers.virt.domainxml import parse_xml
from providers.virt.xmltree import integer

__all__ = ["DomainSnapshot", "read_snapshot", "read_snapshots", "snapshot_request"]

#: libvirt's state of a snapshot that holds disks only (``--disk-only``).
DISK_ONLY_STATE = "disk-snapshot"


@dataclass(frozen=True)
class DomainSnapshot:
    """One snapshot of a domain as libvirt describes it.

    ``state`` is the domain's state libvirt kept with it (``running``,
    ``paused``, ``shutoff``) or ``disk-snapshot`` for one that holds the
    disks alone.
    """

    name: str
    description: str | None
    state: str | None
    created: datetime.datetime | None
    parent: str | None
    is_current: bool

    @property
    def disk_only(self) -> bool:
        return self.state == DISK_ONLY_STATE


def read_snapshot(xml: etree._Element, current: str | None) -> DomainSnapshot:
    """The record of a ``<domainsnapshot>`` element; ``current`` names the domain's
    current snapshot, if it has one."""
    name = xml.findtext("name", "")
    seconds = integer(xml.findtext("creationTime"))
    return DomainSnapshot(
        name=name,
        description=xml.findtext("description"),
        state=xml.findtext("state"),
        created=(datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
                 if seconds is not None else None),
        parent=xml.findtext("parent/name"),
        is_current=name == current,
    )  # fmt: skip


def read_snapshots(handle: libvirt.virDomain, name: str | None = None) -> list[DomainSnapshot]:
    """The domain's snapshots, or its snapshot ``name`` alone (none when it has no such
    snapshot). One removed while they are read is left out; a driver without
    snapshots (LXC) has none."""
    try:
        current = _current_name(handle)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return []
        raise
    if name is None:
        found = handle.listAllSnapshots(0)
    else:
        found = [snapshot for snapshot in [_lookup(handle, name)] if snapshot is not None]
    records = []
    for snapshot in found:
        try:
            text = snapshot.getXMLDesc(0)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                raise
            continue
        records.append(read_snapshot(parse_xml(text), current))
    return records


def snapshot_request(name: str, description: str | None) -> str:
    """The ``<domainsnapshot>`` that asks libvirt for a snapshot so named."""
    request = E.domainsnapshot(E.name(name))
    if description:
        request.append(E.description(description))
    return etree.tostring(request, encoding="unicode")


def _current_name(handle: libvirt.virDomain) -> str | None:
    if not handle.hasCurrentSnapshot(0):
        return None
    try:
        return str(handle.snapshotCurrent(0).getName())
    except libvirt.libvirtError as error:  # deleted since it was asked
        if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            raise
        return None


def _lookup(handle: libvirt.virDomain, name: str) -> libvirt.virDomainSnapshot | None:
    try:
        return handle.snapshotLookupByName(name, 0)
    except libvirt.libvirtError as error:
        if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            raise
        return None
