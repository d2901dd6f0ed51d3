"""The device mapping (providers.virt.mapping): each device's XML, settings and record agree."""

from __future__ import annotations

import pytest
from lxml import etree

from providers.virt import DomainXML, parse_xml
from providers.virt.mapping import (
    DEVICE_IDS,
    DEVICES,
    KINDS_OF_TAG,
    Kind,
    console,
    device_tags,
    disk,
    is_device,
)
from tests.mapping_checks import device_elements, disagreements, read, rewritten, written_anew
from tests.sample_domains import RICH_DOMAIN

#: Per device kind, elements as libvirt writes them, live and defined.
SAMPLES = {
    "disk": [
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
        "<source file='/images/a.qcow2'/><target dev='vda' bus='virtio'/><shareable/>"
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>",
        "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='sdb' bus='scsi'/>"
        "</disk>",
        "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>",
        "<disk type='file' device='floppy'><source file='/f.img'/><target dev='fda'/></disk>",
    ],
    "filesystem": [
        "<filesystem type='mount' accessmode='passthrough'><driver type='path'/>"
        "<source dir='/srv/box'/><target dir='/'/></filesystem>",
        "<filesystem type='mount'><source dir='/srv/shared'/><target dir='/mnt/shared'/>"
        "<readonly/></filesystem>",
    ],
    "interface": [
        "<interface type='network'><mac address='52:54:00:12:34:56'/>"
        "<source network='default'/><model type='virtio'/><target dev='vnet0'/>"
        "<bandwidth><inbound average='1000' peak='2000'/></bandwidth></interface>",
        "<interface type='bridge'><mac address='52:54:00:ab:cd:ef'/><source bridge='br0'/>"
        "<filterref filter='clean-traffic'/></interface>",
        "<interface type='direct'><mac address='52:54:00:00:00:01'/>"
        "<source dev='eth0' mode='vepa'/></interface>",
    ],
    "graphics": [
        "<graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1' keymap='en-us'/>",
        "<graphics type='spice' port='-1' autoport='yes' listen='::1'/>",
        "<graphics type='sdl'/>",
    ],
    "input": ["<input type='tablet' bus='usb'/>", "<input type='mouse' bus='ps2'/>"],
    "console": [
        "<console type='pty'><target type='serial' port='0'/></console>",
        "<console type='file'><source path='/var/log/c.log'/><target type='virtio' port='1'/>"
        "</console>",
        "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/>"
        "<protocol type='telnet'/><target port='0'/></serial>",
        "<console type='unix'><source mode='connect' path='/run/c.sock'/>"
        "<target type='virtio' port='2'/></console>",
    ],
    "controller": [
        "<controller type='scsi' index='0' model='virtio-scsi'>"
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></controller>",
        "<controller type='usb' index='0' model='qemu-xhci' ports='15'/>",
        "<controller type='virtio-serial' index='0' vectors='4'><driver queues='2'/></controller>",
    ],
}
CASES = [(tag, kind, text) for tag, texts in SAMPLES.items() for text in texts
         for kind in KINDS_OF_TAG[tag]]


def test_every_device_module_is_in_the_table():
    assert set(SAMPLES) | {"serial"} == set(DEVICE_IDS)
    assert {kind for kinds in KINDS_OF_TAG.values() for kind in kinds} == set(DEVICES)


def test_each_kind_reads_the_elements_its_device_module_names():
    assert device_tags(Kind.CONSOLE) == console.TAGS == ("console", "serial")
    assert device_tags(Kind.DISK) == disk.TAGS == ("disk", "filesystem")
    assert device_tags(Kind.STORAGE) == disk.STORAGE_TAGS == ("disk",)
    assert KINDS_OF_TAG["interface"] == (Kind.NET, Kind.ETHERNET)
    assert not is_device(Kind.PROC) and device_tags(Kind.MEM) == ()


@pytest.mark.parametrize(("tag", "kind", "text"), CASES,
                         ids=[f"{kind.name}-{i}" for i, (_, kind, _) in enumerate(CASES)])
def test_settings_written_back_onto_the_device_read_the_same(tag, kind, text):
    element = parse_xml(text)
    assert rewritten(kind, element, "qemu") == read(kind, element)


@pytest.mark.parametrize(("tag", "kind", "text"), CASES,
                         ids=[f"{kind.name}-{i}" for i, (_, kind, _) in enumerate(CASES)])
def test_settings_written_as_a_new_device_read_the_same(tag, kind, text):
    element = parse_xml(text)
    assert written_anew(kind, element, "qemu") == {
        name: value for name, value in read(kind, element).items() if name != "Password"}


@pytest.mark.parametrize(("tag", "kind", "text"), CASES,
                         ids=[f"{kind.name}-{i}" for i, (_, kind, _) in enumerate(CASES)])
def test_the_device_record_and_the_settings_agree(tag, kind, text):
    assert disagreements(kind, parse_xml(text)) == []


def test_a_disk_source_is_read_in_one_order_by_the_record_and_the_settings():
    # <source> with both a volume and a name: the devices and the RASDs once
    # tried these two in opposite orders.
    element = parse_xml("<disk type='volume'><source pool='p' volume='v' name='n'/>"
                        "<target dev='vdb'/></disk>")
    assert disk.read(element).source == disk.settings(element)["Address"] == "v"


def test_every_device_of_a_rich_guest_round_trips_and_agrees():
    xml = DomainXML.from_string(RICH_DOMAIN.replace("NAME", "web1"))
    checked = 0
    for element in device_elements(xml):
        for kind in KINDS_OF_TAG[element.tag]:
            assert rewritten(kind, element, "qemu") == read(kind, element), etree.tostring(element)
            assert disagreements(kind, element) == []
            checked += 1
    assert checked == 12  # 2 disks and 2 NICs (two kinds each), 4 other devices
