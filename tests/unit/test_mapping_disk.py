"""Disk drive and storage settings to and from ``<disk>`` (providers.virt.mapping.disk)."""

from __future__ import annotations

from lxml import etree

from providers.virt import DomainXML
from providers.virt.mapping import Kind, resources
from tests.mapping_checks import by_id, unmodelled


def test_disk_and_cdrom_read_as_drives_with_their_image(xml):
    disks = by_id(xml, Kind.DISK)
    assert disks["vda"]["Address"] == "/var/lib/images/web.qcow2"
    assert disks["vda"]["DriverType"] == "qcow2" and disks["vda"]["EmulatedType"] == 0
    assert disks["hdc"]["EmulatedType"] == 1 and disks["hdc"]["readonly"] is True
    assert disks["vda"]["ResourceType"] == disks["hdc"]["ResourceType"] == 17
    storage = by_id(xml, Kind.STORAGE)["hdc"]
    assert storage["ResourceType"] == 31 and storage["Access"] == 1
    assert storage["HostResource"] == ["/iso/install.iso"]


def test_editing_a_disk_keeps_unknown_attributes_and_children(xml):
    disk = xml.find_device("vda")
    disk.set("x-vendor", "1")
    etree.SubElement(disk, "iotune").text = "keep"
    before = unmodelled(xml)
    resources.apply_resource(xml, Kind.DISK, {"Address": "/images/other.raw", "DriverType": "raw"},
                        "vda")
    disk = xml.find_device("vda")
    assert disk.get("x-vendor") == "1" and disk.findtext("iotune") == "keep"
    assert disk.find("source").get("file") == "/images/other.raw"
    assert disk.find("driver").get("name") == "qemu"
    assert unmodelled(xml) == before


def test_an_empty_cdrom_reads_as_an_empty_address_as_libvirt_cim_read_it(xml):
    cdrom = xml.find_device("hdc")
    cdrom.remove(cdrom.find("source"))
    drive = by_id(xml, Kind.DISK)["hdc"]
    assert drive["Address"] == "" and "HostResource" not in drive
    resources.apply_resource(xml, Kind.DISK, {"Address": "/iso/new.iso"}, "hdc")
    assert by_id(xml, Kind.DISK)["hdc"]["Address"] == "/iso/new.iso"
    resources.apply_resource(xml, Kind.DISK, {"Address": ""}, "hdc")
    assert xml.find_device("hdc").find("source") is None


def test_hostile_values_are_escaped_by_the_tree(xml):
    path = "/images/a'b\"<c>&d.img"
    resources.apply_resource(xml, Kind.DISK, {"VirtualDevice": "vdq", "Address": path})
    parsed = DomainXML.from_string(xml.to_string())
    assert by_id(parsed, Kind.DISK)["vdq"]["Address"] == path
