"""The domain-XML model (providers.virt.domainxml): reads and edits of a definition, no libvirt."""

import pytest
from lxml import etree

from providers.virt import DomainXML, device_id
from tests.sample_domains import RICH_DOMAIN

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


def canonical(element):
    return etree.tostring(element, method="c14n")


def unmodelled_subtrees(xml):
    """The parts of a definition the model does not know, canonicalized."""
    root = xml.root
    return [
        canonical(root.find("metadata")),
        canonical(root.find("seclabel")),
        canonical(root.find(f"{{{QEMU_NS}}}commandline")),
        canonical(root.find("features/apic")),
        canonical(root.find("devices/disk/driver")),
    ]


def element(text):
    return etree.fromstring(text)


@pytest.fixture
def guest_name() -> str:
    return "web1"


@pytest.fixture
def rich_xml(guest_name: str) -> str:
    return RICH_DOMAIN.replace("NAME", guest_name)


def test_model_reads_every_modelled_field(rich_xml, guest_name):
    xml = DomainXML.from_string(rich_xml)
    assert (xml.name, xml.domain_type, xml.uuid) == (guest_name, "test", None)
    assert (xml.memory_kib, xml.current_memory_kib) == (524288, 262144)
    assert (xml.vcpus, xml.max_vcpus) == (1, 4)
    assert (xml.os_type, xml.arch, xml.machine) == ("hvm", "x86_64", "pc")
    assert xml.boot_devices == ["cdrom", "hd"]
    assert xml.emulator == "/usr/bin/qemu-system-x86_64"
    assert xml.clock_offset == "localtime"
    assert (xml.on_poweroff, xml.on_reboot, xml.on_crash) == ("destroy", "restart", "preserve")
    assert xml.has_feature("acpi") and xml.has_feature("apic") and not xml.has_feature("pae")


def test_model_reads_devices_with_their_device_ids(rich_xml):
    xml = DomainXML.from_string(rich_xml)
    disk, cdrom = xml.disks()
    assert (disk.device_id, disk.device, disk.source_type, disk.source) == (
        "vda", "disk", "file", "/var/lib/images/web.qcow2")  # fmt: skip
    assert (disk.target_bus, disk.driver_name, disk.driver_type, disk.readonly) == (
        "virtio", "qemu", "qcow2", False)  # fmt: skip
    assert (cdrom.device_id, cdrom.device, cdrom.target_bus, cdrom.readonly) == (
        "hdc",
        "cdrom",
        "ide",
        True,
    )
    network, bridge = xml.interfaces()
    assert (network.device_id, network.type, network.source, network.model) == (
        "52:54:00:12:34:56", "network", "default", "virtio")  # fmt: skip
    assert (bridge.type, bridge.source, bridge.model) == ("bridge", "br0", None)
    (graphics,) = xml.graphics()
    assert (graphics.device_id, graphics.port, graphics.autoport, graphics.listen) == (
        "vnc",
        -1,
        True,
        "127.0.0.1",
    )
    assert graphics.keymap == "en-us" and graphics.has_password
    assert "s3cret" not in repr(graphics)
    (tablet,) = xml.inputs()
    assert (tablet.device_id, tablet.type, tablet.bus) == ("tablet:usb", "tablet", "usb")
    (console,) = xml.consoles()
    assert (console.device_id, console.type, console.target_type, console.target_port) == (
        "charconsole:0", "pty", "serial", 0)  # fmt: skip
    (controller,) = xml.controllers()
    assert (controller.device_id, controller.index, controller.model) == (
        "controller:scsi:0",
        0,
        "virtio-scsi",
    )
    assert xml.device_ids() == ["vda", "hdc", "controller:scsi:0", "52:54:00:12:34:56",
                                "52:54:00:ab:cd:ef", "charconsole:0", "tablet:usb", "vnc"]  # fmt: skip


def test_edits_keep_unmodelled_content_byte_for_byte(rich_xml):
    xml = DomainXML.from_string(rich_xml)
    before = unmodelled_subtrees(xml)
    xml.set_memory(1048576)
    xml.set_current_memory(524288)
    xml.set_vcpus(2, maximum=8)
    xml.set_os(arch="i686", machine="pc-q35")
    xml.set_boot_devices(["network"])
    xml.set_clock_offset("utc")
    xml.set_lifecycle_action("crash", "restart")
    xml.set_feature("pae", True)
    xml.set_feature("acpi", False)
    xml.set_emulator("/usr/bin/kvm")
    xml.add_device(
        element("<disk type='file' device='disk'><source file='/b'/><target dev='vdb'/></disk>")
    )
    xml.replace_device("vnc", element("<graphics type='vnc' port='5901'/>"))
    xml.remove_device("tablet:usb")
    assert unmodelled_subtrees(xml) == before
    reread = DomainXML.from_string(xml.to_string())
    assert unmodelled_subtrees(reread) == before
    assert (reread.memory_kib, reread.current_memory_kib, reread.vcpus, reread.max_vcpus) == (
        1048576,
        524288,
        2,
        8,
    )
    assert (reread.arch, reread.machine, reread.os_type, reread.boot_devices) == (
        "i686",
        "pc-q35",
        "hvm",
        ["network"],
    )
    assert (reread.clock_offset, reread.on_crash, reread.emulator) == (
        "utc",
        "restart",
        "/usr/bin/kvm",
    )
    assert reread.has_feature("pae") and not reread.has_feature("acpi")
    assert [d.device_id for d in reread.disks()] == ["vda", "hdc", "vdb"]
    assert reread.graphics()[0].port == 5901
    assert reread.inputs() == []


def test_new_elements_go_where_libvirt_puts_them():
    xml = DomainXML.from_string("<domain type='test'><name>n</name><os><type>hvm</type></os>"
                                "<clock offset='utc'/><seclabel type='none'/></domain>")  # fmt: skip
    xml.set_feature("acpi", True)
    xml.set_memory(1024)
    xml.set_lifecycle_action("poweroff", "destroy")
    xml.add_device(element("<interface type='user'><mac address='52:54:00:00:00:01'/></interface>"))
    xml.add_device(element("<disk type='file'><target dev='vda'/></disk>"))
    xml.set_emulator("/usr/bin/qemu")
    order = [child.tag for child in xml.root]
    assert order == [
        "name",
        "memory",
        "os",
        "features",
        "clock",
        "on_poweroff",
        "devices",
        "seclabel",
    ]
    assert [child.tag for child in xml.root.find("devices")] == ["emulator", "disk", "interface"]


def test_replace_keeps_the_device_in_its_place(rich_xml):
    xml = DomainXML.from_string(rich_xml)
    xml.replace_device(
        "52:54:00:12:34:56",
        element("<interface type='user'><mac address='52:54:00:00:00:09'/></interface>"),
    )
    assert [i.device_id for i in xml.interfaces()] == ["52:54:00:00:00:09", "52:54:00:ab:cd:ef"]


def test_hostile_values_are_escaped_not_interpreted(rich_xml):
    xml = DomainXML.from_string(rich_xml)
    hostile = "a<b>&c;'\"]]></name><evil/>"
    xml.set_name(hostile)
    xml.add_device(element("<disk type='file'><source file='x'/><target dev='vdz'/></disk>"))
    xml.root.find("devices/disk[last()]/source").set("file", hostile)
    reread = DomainXML.from_string(xml.to_string())
    assert reread.name == hostile
    assert reread.disks()[-1].source == hostile
    assert reread.root.find(".//evil") is None


def test_entities_in_client_xml_are_not_expanded():
    xml = DomainXML.from_string('<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                "<domain><name>&x;</name></domain>")  # fmt: skip
    assert "root" not in xml.name


@pytest.mark.parametrize("bad", ["<domain><name>x</", "", "<notadomain/>"])
def test_malformed_domain_xml_raises_value_error(bad):
    with pytest.raises(ValueError):
        DomainXML.from_string(bad)


def test_invalid_edits_raise_and_change_nothing(rich_xml):
    xml = DomainXML.from_string(rich_xml)
    before = xml.to_string()
    with pytest.raises(ValueError, match="already exists"):
        xml.add_device(element("<disk type='file'><target dev='vda'/></disk>"))
    with pytest.raises(KeyError, match="no device 'vdq'"):
        xml.remove_device("vdq")
    with pytest.raises(KeyError):
        xml.replace_device("mouse:ps2", element("<input type='mouse' bus='ps2'/>"))
    with pytest.raises(ValueError, match="exceeds maximum"):
        xml.set_vcpus(5)
    with pytest.raises(ValueError, match="exceeds maximum"):
        xml.set_current_memory(2**30)
    with pytest.raises(ValueError):
        xml.set_vcpus(0)
    with pytest.raises(ValueError):
        xml.set_lifecycle_action("explode", "destroy")
    assert xml.to_string() == before


def test_lowering_maximum_memory_lowers_current_memory(rich_xml):
    xml = DomainXML.from_string(rich_xml)
    xml.set_memory(131072)
    assert (xml.memory_kib, xml.current_memory_kib) == (131072, 131072)


def test_device_id_is_none_for_devices_not_modelled():
    assert device_id(element("<memballoon model='virtio'/>")) is None
    assert device_id(element("<controller type='usb'/>")) == "controller:usb:-1"


