"""Listing QEMU guests: every guest's state in one call, and changes made elsewhere seen at once;
one cached guest asked through its handle, without a lookup."""

from __future__ import annotations

from collections.abc import Callable

import libvirt
import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError

from providers.virt import Hypervisor
from tests.http.servers import running_server
from tests.providers.conftest import record_asks


@pytest.fixture
def looks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the domains whose state was asked of libvirt one by one."""
    return record_asks(monkeypatch, "state")


def listed(hv: Hypervisor, name: str):
    [domain] = [domain for domain in hv.listing() if domain.name == name]
    return domain


def test_the_listing_brings_every_guest_state_in_one_call(
        hypervisor, looks, qemu_conn, scratch_guest_name, tiny_guest_xml: Callable[[str], str]):
    names = [scratch_guest_name() for _ in range(3)]
    for name in names:
        qemu_conn.defineXML(tiny_guest_xml(name))
    qemu_conn.lookupByName(names[0]).create()
    for name in names:
        domain = listed(hypervisor, name)
        state, max_kib, _, vcpus, _ = qemu_conn.lookupByName(name).info()
        assert (domain.state, domain.xml.memory_kib, domain.xml.vcpus) == (state, max_kib, vcpus)
    assert looks == []


def test_a_change_made_through_another_connection_shows_in_the_next_listing(
        hypervisor, qemu_conn, scratch_guest_name, tiny_guest_xml: Callable[[str], str]):
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    before = listed(hypervisor, name)
    assert listed(hypervisor, name) is before  # served from the cache while unchanged
    qemu_conn.lookupByName(name).setMemoryFlags(96 * 1024, libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    after = listed(hypervisor, name)
    assert (before.xml.memory_kib, after.xml.memory_kib) == (64 * 1024, 96 * 1024)
    qemu_conn.lookupByName(name).create()
    assert listed(hypervisor, name).is_active


def test_a_disk_attached_to_the_definition_elsewhere_shows_in_the_very_next_listing(
        hypervisor, qemu_conn, scratch_guest_name, tiny_guest_xml: Callable[[str], str]):
    """libvirt raises no event for a device attached to the persistent definition only."""
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    assert listed(hypervisor, name).xml.root.find("devices/disk") is None
    qemu_conn.lookupByName(name).attachDeviceFlags(
        "<disk type='file' device='disk'><source file='/var/lib/virtcim-listing.img'/>"
        "<target dev='vdb' bus='virtio'/></disk>", libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    disk = listed(hypervisor, name).xml.root.find("devices/disk/source")
    assert disk is not None and disk.get("file") == "/var/lib/virtcim-listing.img"


def test_over_http_a_disk_attached_elsewhere_shows_in_the_next_enumeration(
        qemu_uri, qemu_conn, scratch_guest_name, tiny_guest_xml: Callable[[str], str], tmp_path):
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    with running_server(tmp_path, uris=(qemu_uri,)) as server:
        conn = server.connection()

        def disks() -> set[str]:
            return {inst["InstanceID"] for inst in conn.EnumerateInstances(
                "KVM_DiskResourceAllocationSettingData") if inst["InstanceID"].startswith(name)}

        assert disks() == set()
        qemu_conn.lookupByName(name).attachDeviceFlags(
            "<disk type='file' device='disk'><source file='/var/lib/virtcim-http.img'/>"
            "<target dev='vdb' bus='virtio'/></disk>", libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        assert disks() == {f"{name}/vdb"}


def test_one_cached_guest_is_asked_through_its_handle_and_sees_every_change_made_elsewhere(
        hypervisor, qemu_conn, monkeypatch, scratch_guest_name,
        tiny_guest_xml: Callable[[str], str]):
    name, renamed = scratch_guest_name(), scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    cached = hypervisor.domain(name)
    looked_up = record_lookups(monkeypatch)
    assert hypervisor.domain(name) is cached
    assert looked_up == []

    qemu_conn.lookupByName(name).setMemoryFlags(96 * 1024, libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    assert hypervisor.domain(name).xml.memory_kib == 96 * 1024
    qemu_conn.lookupByName(name).create()
    running = hypervisor.domain(name)
    assert running.is_active and running.id == qemu_conn.lookupByName(name).ID()
    qemu_conn.lookupByName(name).destroy()
    qemu_conn.lookupByName(name).create()
    assert hypervisor.domain(name).id == qemu_conn.lookupByName(name).ID() != running.id

    qemu_conn.lookupByName(name).destroy()
    hypervisor.domain(name)
    qemu_conn.lookupByName(name).rename(renamed, 0)
    with pytest.raises(CIMError) as missing:
        hypervisor.domain(name)
    assert missing.value.status_code == CIM_ERR_NOT_FOUND
    assert hypervisor.domain(renamed).name == renamed


def record_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names ``virConnect.lookupByName`` is called with, as it is called."""
    asked: list[str] = []
    original = libvirt.virConnect.lookupByName

    def counting(conn: libvirt.virConnect, name: str) -> libvirt.virDomain:
        asked.append(name)
        return original(conn, name)

    monkeypatch.setattr(libvirt.virConnect, "lookupByName", counting)
    return asked
