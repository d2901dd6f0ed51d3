"""Records of libvirt's snapshots read from their XML and from a domain's handle, and the XML
that asks for one."""

from __future__ import annotations

import datetime

import libvirt
import pytest
from lxml import etree

from providers.virt.snapshots import DomainSnapshot, read_snapshot, read_snapshots, snapshot_request

UTC = datetime.timezone.utc


@pytest.mark.parametrize("xml, current, expected", [
    ("""<domainsnapshot><name>s2</name><description>after the update</description>
        <state>running</state><parent><name>s1</name></parent>
        <creationTime>1796488791</creationTime><memory snapshot='internal'/>
        <domain type='kvm'><name>web1</name><description>not the snapshot's</description>
        </domain></domainsnapshot>""", "s2",
     DomainSnapshot("s2", "after the update", "running",
                    datetime.datetime(2026, 12, 5, 16, 39, 51, tzinfo=UTC), "s1", True)),
    ("""<domainsnapshot><name>disks</name><state>disk-snapshot</state>
        <creationTime>0</creationTime></domainsnapshot>""", "other",
     DomainSnapshot("disks", None, "disk-snapshot", datetime.datetime(1970, 1, 1, tzinfo=UTC),
                    None, False)),
    ("<domainsnapshot><name>bare</name><creationTime>soon</creationTime></domainsnapshot>",
     None, DomainSnapshot("bare", None, None, None, None, False)),
])
def test_a_snapshot_is_read_from_its_xml(xml, current, expected):
    assert read_snapshot(etree.fromstring(xml), current) == expected


@pytest.mark.parametrize("state, disk_only", [
    ("disk-snapshot", True), ("running", False), ("paused", False), ("shutoff", False),
    (None, False),
])
def test_only_libvirts_disk_snapshot_state_holds_the_disks_alone(state, disk_only):
    assert DomainSnapshot("s", None, state, None, None, False).disk_only is disk_only


@pytest.mark.parametrize("name, description", [
    ("s1", None), ("<&'\">", "a \"quoted\" <tag> & more"), ("ü", ""),
])
def test_the_request_names_and_describes_the_snapshot_with_its_text_escaped(name, description):
    request = etree.fromstring(snapshot_request(name, description))
    assert request.tag == "domainsnapshot"
    assert request.findtext("name") == name
    assert request.findtext("description") == (description or None)


class LibvirtError(libvirt.libvirtError):
    def __init__(self, code: int) -> None:
        super().__init__(f"error {code}")
        self.code = code

    def get_error_code(self) -> int:
        return self.code


class Snapshot:
    def __init__(self, name: str, gone: bool = False) -> None:
        self.name, self.gone = name, gone

    def getName(self) -> str:
        return self.name

    def getXMLDesc(self, flags: int) -> str:
        if self.gone:
            raise LibvirtError(libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT)
        return f"<domainsnapshot><name>{self.name}</name></domainsnapshot>"


class Handle:
    """A domain's handle as far as snapshots go; ``support`` False is a driver without them."""

    def __init__(self, snapshots: list[Snapshot], support: bool = True) -> None:
        self.snapshots, self.support = snapshots, support

    def hasCurrentSnapshot(self, flags: int) -> bool:
        if not self.support:
            raise LibvirtError(libvirt.VIR_ERR_NO_SUPPORT)
        return bool(self.snapshots)

    def snapshotCurrent(self, flags: int) -> Snapshot:
        return self.snapshots[-1]

    def listAllSnapshots(self, flags: int) -> list[Snapshot]:
        return self.snapshots

    def snapshotLookupByName(self, name: str, flags: int) -> Snapshot:
        for snapshot in self.snapshots:
            if snapshot.name == name:
                return snapshot
        raise LibvirtError(libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT)


def test_a_driver_without_snapshots_has_none():
    assert read_snapshots(Handle([], support=False)) == []
    assert read_snapshots(Handle([], support=False), "s1") == []


def test_a_snapshot_deleted_while_they_are_read_is_left_out():
    handle = Handle([Snapshot("s1"), Snapshot("gone", gone=True), Snapshot("s2")])
    assert [(s.name, s.is_current) for s in read_snapshots(handle)] == [
        ("s1", False), ("s2", True)]
    assert read_snapshots(handle, "gone") == []


def test_one_snapshot_is_read_by_name_or_found_missing():
    handle = Handle([Snapshot("s1"), Snapshot("s2")])
    assert [(s.name, s.is_current) for s in read_snapshots(handle, "s2")] == [("s2", True)]
    assert read_snapshots(handle, "s3") == []
