"""The device mapping on QEMU: the definitions libvirtd reports, defined and running (with
its aliases, PCI addresses and assigned ports), round-trip through the settings, and the
device records and the settings agree."""

from __future__ import annotations

from collections.abc import Callable

import libvirt
import pytest
from lxml import etree

from tests.mapping_checks import check_every_device

#: One device of each kind QEMU starts without host resources.
DEVICES = [
    "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>",
    "<controller type='usb' index='0' model='qemu-xhci'/>",
    "<filesystem type='mount' accessmode='mapped'><source dir='/tmp'/><target dir='shared'/>"
    "</filesystem>",
    "<interface type='user'><mac address='52:54:00:5a:11:01'/><model type='virtio'/></interface>",
    "<serial type='pty'><target port='0'/></serial>",
    "<console type='pty'><target type='serial' port='0'/></console>",
    "<input type='tablet' bus='usb'/>",
    "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>",
]


@pytest.fixture
def guest(qemu_conn: libvirt.virConnect, scratch_guest_name, tiny_guest_xml: Callable[[str], str]):
    name = scratch_guest_name()
    root = etree.fromstring(tiny_guest_xml(name))
    devices = root.find("devices")
    for text in DEVICES:
        devices.append(etree.fromstring(text))
    return qemu_conn.defineXML(etree.tostring(root, encoding="unicode"))


def test_every_device_of_a_defined_guest_round_trips_and_agrees(hypervisor, guest):
    domain = hypervisor.domain(guest.name())
    for xml in (domain.xml, domain.config()):
        check_every_device(xml, hypervisor.driver)


def test_every_device_of_a_running_guest_round_trips_and_agrees(hypervisor, guest):
    guest.create()
    domain = hypervisor.domain(guest.name())
    for xml in (domain.xml, domain.config()):
        check_every_device(xml, hypervisor.driver)
