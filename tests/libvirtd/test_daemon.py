"""The test daemon runs real QEMU guests: the ground the real-hypervisor tests stand on."""

import os

import libvirt
import pytest
from lxml import etree


def kvm_opens() -> bool:
    """True when this machine's /dev/kvm can be opened for use."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError:
        return False
    return True


def state(domain: libvirt.virDomain) -> int:
    return domain.state()[0]


def test_tiny_guest_defines_starts_runs_stops_and_undefines(
    qemu_conn, scratch_guest_name, tiny_guest_xml
):
    name = scratch_guest_name()

    domain = qemu_conn.defineXML(tiny_guest_xml(name))
    assert state(domain) == libvirt.VIR_DOMAIN_SHUTOFF

    domain.create()
    assert state(domain) == libvirt.VIR_DOMAIN_RUNNING
    running = qemu_conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    assert name in [guest.name() for guest in running]

    domain.destroy()
    assert state(domain) == libvirt.VIR_DOMAIN_SHUTOFF

    domain.undefine()
    with pytest.raises(libvirt.libvirtError) as missing:
        qemu_conn.lookupByName(name)
    assert missing.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def test_tiny_guest_runs_with_kvm_exactly_when_dev_kvm_is_usable(
    qemu_conn, scratch_guest_name, tiny_guest_xml
):
    domain = qemu_conn.createXML(tiny_guest_xml(scratch_guest_name()))

    live = etree.fromstring(domain.XMLDesc())
    assert live.get("type") == ("kvm" if kvm_opens() else "qemu")
    assert domain.maxMemory() == 64 * 1024  # the tiny guest's 64 MiB, in KiB
    assert live.find("devices/disk") is None
    assert live.find("devices/interface") is None
