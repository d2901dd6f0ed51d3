"""Disk drive and storage settings to and from ``<disk>`` and ``<filesystem>``
(providers.virt.mapping.disk)."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from providers.virt import DomainXML
from providers.virt.mapping import Kind, SettingsError, resources, system
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


CONTAINER = """<domain type='lxc'><name>box</name><memory>65536</memory>
<os><type>exe</type><init>/bin/sh</init></os><devices>
<filesystem type='mount' accessmode='passthrough'><driver type='path'/>
<source dir='/srv/box'/><target dir='/'/></filesystem>
<filesystem type='mount'><source dir='/srv/shared'/><target dir='/mnt/shared'/><readonly/></filesystem>
<console type='pty'/></devices></domain>"""


def container() -> DomainXML:
    return DomainXML.from_string(CONTAINER)


def test_a_containers_mounts_read_as_filesystem_drives_known_by_their_target():
    xml = container()
    mounts = by_id(xml, Kind.DISK)
    assert mounts["/"] == {
        "InstanceID": "box//", "ElementName": "/", "ResourceType": 17, "VirtualDevice": "/",
        "MountPoint": "/", "Address": "/srv/box", "HostResource": ["/srv/box"],
        "EmulatedType": 3, "DriverType": "path", "AccessMode": "passthrough", "readonly": False}
    assert mounts["/mnt/shared"]["readonly"] is True
    assert by_id(xml, Kind.STORAGE) == {}  # a mounted directory is no storage extent
    assert [disk.device_id for disk in xml.disks()] == ["/", "/mnt/shared"]
    assert {disk.device for disk in xml.disks()} == {"filesystem"}


def test_on_the_lxc_driver_a_new_drive_is_a_mount_from_mount_point_and_address():
    xml = container()
    ident = resources.apply_resource(
        xml, Kind.DISK, {"MountPoint": "/tmp", "Address": "/var/lib/lxc_files"}, driver="lxc")
    assert ident == "/tmp"
    element = xml.find_device("/tmp")
    assert (element.tag, element.get("type")) == ("filesystem", "mount")
    assert element.find("source").attrib == {"dir": "/var/lib/lxc_files"}
    assert resources.apply_resource(xml, Kind.DISK, {"VirtualDevice": "/opt", "Address": "/o"},
                                    driver="lxc") == "/opt"


def test_a_mount_is_changed_in_place_and_keeps_what_is_not_given():
    xml = container()
    resources.apply_resource(xml, Kind.DISK, {"Address": "/srv/other", "readonly": True,
                                              "AccessMode": "mapped"}, "/", driver="lxc")
    mount = by_id(xml, Kind.DISK)["/"]
    assert (mount["Address"], mount["readonly"], mount["AccessMode"], mount["DriverType"]) == (
        "/srv/other", True, "mapped", "path")


def test_a_qemu_guest_shares_a_directory_when_the_setting_asks_for_a_filesystem(xml):
    for values in ({"EmulatedType": 3, "VirtualDevice": "share", "Address": "/srv/share"},
                   {"MountPoint": "tag2", "Address": "/srv/two"}):
        ident = resources.apply_resource(xml, Kind.DISK, values)
        assert xml.find_device(ident).tag == "filesystem"
    assert by_id(xml, Kind.DISK)["share"]["Address"] == "/srv/share"
    assert by_id(xml, Kind.DISK)["vda"]["EmulatedType"] == 0


@pytest.mark.parametrize(("values", "ident", "message"), [
    ({"MountPoint": "/a"}, None, "Address, the host directory, is required"),
    ({"Address": "/a"}, None, "MountPoint (or VirtualDevice) is required"),
    ({"MountPoint": "/a", "VirtualDevice": "/b", "Address": "/x"}, None, "differ"),
    ({"MountPoint": "/a", "Address": "/x", "AccessMode": "rw"}, None, "AccessMode 'rw'"),
    ({"Address": ""}, "/", "Address, the host directory, is required"),
    ({"EmulatedType": 0}, "/", "cannot turn a disk into a filesystem"),
    ({"EmulatedType": 9}, "/", "EmulatedType 9 is not 0-4"),
])
def test_a_mount_that_cannot_be_written_is_refused_and_changes_nothing(values, ident, message):
    xml = container()
    before = xml.to_string()
    with pytest.raises(SettingsError, match=re.escape(message)):
        resources.apply_resource(xml, Kind.DISK, values, ident, driver="lxc")
    assert xml.to_string() == before


def test_a_disk_does_not_become_a_filesystem(xml):
    with pytest.raises(SettingsError, match="cannot turn a disk into a filesystem"):
        resources.apply_resource(xml, Kind.DISK, {"EmulatedType": 3}, "vda")


def test_a_containers_graphics_get_libvirts_none_video_model():
    xml = container()
    system.without_display_hardware(xml)
    assert xml.root.find("devices/video") is None  # no graphics, nothing added
    resources.apply_resource(xml, Kind.GRAPHICS, {"ResourceSubType": "vnc"}, driver="lxc")
    system.without_display_hardware(xml)
    system.without_display_hardware(xml)
    assert [video.find("model").get("type") for video in xml.root.iterfind("devices/video")] == [
        "none"]


def test_a_full_guests_graphics_are_left_to_libvirts_default_video(xml):
    system.without_display_hardware(xml)
    assert xml.root.find("devices/video") is None
