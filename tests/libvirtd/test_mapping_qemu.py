"""The device mapping on QEMU: the definitions libvirtd reports, defined and running (with
its aliases, PCI addresses and assigned ports), round-trip through the settings, and the
device records and the settings agree."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libvirt
import pytest
from lxml import etree

from providers.virt import Hypervisor
from providers.virt.mapping.base import KINDS_OF_TAG
from tests.mapping_checks import device_elements, disagreements, read, rewritten

#: One device of each kind QEMU starts without host resources.
DEVICES = [
    "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>",
    "<controller type='usb' index='0' model='qemu-xhci'/>",
    "<interface type='user'><mac address='52:54:00:5a:11:01'/><model type='virtio'/></interface>",
    "<serial type='pty'><target port='0'/></serial>",
    "<console type='pty'><target type='serial' port='0'/></console>",
    "<input type='tablet' bus='usb'/>",
    "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>",
]


@pytest.fixture
def hypervisor(qemu_uri: str) -> Iterator[Hypervisor]:
    hv = Hypervisor(qemu_uri)
    yield hv
    hv.close()


@pytest.fixture
def guest(qemu_conn: libvirt.virConnect, scratch_guest_name, tiny_guest_xml: Callable[[str], str]):
    name = scratch_guest_name()
    root = etree.fromstring(tiny_guest_xml(name))
    devices = root.find("devices")
    for text in DEVICES:
        devices.append(etree.fromstring(text))
    return qemu_conn.defineXML(etree.tostring(root, encoding="unicode"))


def check_every_device(hv: Hypervisor, name: str) -> None:
    domain = hv.domain(name)
    for xml in (domain.xml, domain.config()):
        elements = device_elements(xml)
        assert {element.tag for element in elements} == set(KINDS_OF_TAG)
        for element in elements:
            for kind in KINDS_OF_TAG[element.tag]:
                assert rewritten(kind, element, hv.driver) == read(kind, element), (
                    etree.tostring(element))
                assert disagreements(kind, element) == []


def test_every_device_of_a_defined_guest_round_trips_and_agrees(hypervisor, guest):
    check_every_device(hypervisor, guest.name())


def test_every_device_of_a_running_guest_round_trips_and_agrees(hypervisor, guest):
    guest.create()
    check_every_device(hypervisor, guest.name())
