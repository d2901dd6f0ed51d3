"""Records of libvirt's snapshots read from their XML, and the XML that asks for one."""

from __future__ import annotations

import datetime

import pytest
from lxml import etree

from providers.virt.snapshots import DomainSnapshot, read_snapshot, snapshot_request

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
