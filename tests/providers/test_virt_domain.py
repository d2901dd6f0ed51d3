"""The domain-XML model, domain state changes and transactions, on the test driver."""

import libvirt
import pytest
from lxml import etree
from mock import patch
from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIM_ERR_NOT_SUPPORTED, CIMError

from providers.virt import DomainState, DomainXML, device_id

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
SECURE_CONFIG = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


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


def persistent_xml(hypervisor, name):
    return hypervisor.run("guest", lambda conn: conn.lookupByName(name).XMLDesc(SECURE_CONFIG))


# --- the model, without libvirt --------------------------------------------------------------


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


# --- domains on the test driver --------------------------------------------------------------


def test_default_test_domain_reads(hypervisor):
    domain = hypervisor.domain("test")
    assert domain.state is DomainState.RUNNING and domain.is_active
    xml = domain.xml
    assert (xml.name, xml.memory_kib, xml.current_memory_kib, xml.max_vcpus) == (
        "test",
        8388608,
        2097152,
        2,
    )
    assert (xml.os_type, xml.arch, xml.boot_devices) == ("hvm", "i686", ["hd"])
    assert [(d.device_id, d.source, d.target_bus) for d in xml.disks()] == [
        ("vda", "/guest/diskimage1", "virtio")
    ]
    assert [(i.device_id, i.type, i.source) for i in xml.interfaces()] == [
        ("aa:bb:cc:dd:ee:ff", "network", "default")
    ]


def test_shared_domain_xml_refuses_edits(hypervisor):
    with pytest.raises(TypeError, match="read-only"):
        hypervisor.domain("test").xml.set_memory(1024)


def test_defined_domain_reads_back_with_unmodelled_content(hypervisor, rich_xml, guest_name):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    assert (
        domain.name == guest_name and domain.state is DomainState.SHUTOFF and not domain.is_active
    )
    xml = domain.xml
    assert (
        xml.root.find(
            "metadata/{http://example.org/app/1}info/{http://example.org/app/1}owner"
        ).text
        == "ops & dev"
    )
    assert xml.root.find("seclabel").get("model") == "selinux"
    assert xml.graphics()[0].has_password
    assert [d.device_id for d in xml.disks()] == ["vda", "hdc"]
    assert domain.is_persistent()


def test_redefining_an_edited_config_keeps_what_libvirt_kept(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    config = domain.config()
    kept = [canonical(config.root.find("metadata")), canonical(config.root.find("seclabel"))]
    config.set_memory(1048576)
    config.remove_device("hdc")
    changed = domain.redefine(config)
    assert changed.uuid == domain.uuid
    assert changed.xml.memory_kib == 1048576 and [d.device_id for d in changed.xml.disks()] == [
        "vda"
    ]
    again = changed.config()
    assert [canonical(again.root.find("metadata")), canonical(again.root.find("seclabel"))] == kept
    assert again.graphics()[0].has_password


def test_state_changes_reach_libvirt(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    states = []
    for change in ("start", "suspend", "resume", "reboot", "reset", "shutdown", "start", "destroy"):
        getattr(domain, change)()
        states.append(hypervisor.domain(domain.name).state)
    assert states == [DomainState.RUNNING, DomainState.PAUSED, DomainState.RUNNING, DomainState.RUNNING,
                      DomainState.RUNNING, DomainState.SHUTOFF, DomainState.RUNNING, DomainState.SHUTOFF]  # fmt: skip


def test_invalid_state_change_is_a_cim_error_naming_the_guest(hypervisor, rich_xml, guest_name):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    with pytest.raises(CIMError) as raised:
        domain.destroy()
    assert raised.value.status_code == CIM_ERR_FAILED
    assert (
        f"cannot destroy guest '{guest_name}' on test:///default" in raised.value.status_description
    )
    assert "not running" in raised.value.status_description


def test_live_memory_and_vcpu_changes_reach_both_live_and_config(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    running = hypervisor.domain(domain.name)
    running.set_memory(131072, live=True)
    running.set_vcpus(2, live=True)
    after = hypervisor.domain(domain.name)
    assert (after.xml.current_memory_kib, after.xml.vcpus) == (131072, 2)
    assert (after.config().current_memory_kib, after.config().vcpus) == (131072, 2)


def test_config_only_change_leaves_the_running_guest_alone(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    hypervisor.domain(domain.name).set_memory(131072, live=False)
    after = hypervisor.domain(domain.name)
    assert after.xml.current_memory_kib == 262144
    assert after.config().current_memory_kib == 131072


def test_device_hotplug_unsupported_by_the_driver_is_not_supported(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    with pytest.raises(CIMError) as raised:
        domain.attach_device(
            element("<disk type='file'><source file='/c'/><target dev='vdc'/></disk>"), live=True
        )
    assert raised.value.status_code == CIM_ERR_NOT_SUPPORTED


def test_invalid_definition_is_an_invalid_parameter(hypervisor):
    bad = DomainXML.from_string("<domain type='test'><name>a/b</name><memory>1024</memory>"
                                "<os><type>hvm</type></os></domain>")  # fmt: skip
    with pytest.raises(CIMError) as raised:
        hypervisor.define(bad)
    assert raised.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "cannot define guest 'a/b' on test:///default" in raised.value.status_description


def test_undefine_removes_the_definition(hypervisor, rich_xml, guest_name):
    hypervisor.define(DomainXML.from_string(rich_xml)).undefine()
    assert guest_name not in [d.name for d in hypervisor.domains()]


# --- transactions ----------------------------------------------------------------------------


def fail_once(real):
    """A replacement for a libvirt method that fails on its first call only."""
    calls = []

    def replacement(self, *args):
        calls.append(args)
        if len(calls) == 1:
            raise libvirt.libvirtError("injected failure")
        return real(self, *args)

    return replacement


def test_failed_third_step_leaves_libvirt_as_before(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    domain = hypervisor.domain(domain.name)
    original_config = persistent_xml(hypervisor, domain.name)
    with patch.object(libvirt.virConnect, "defineXML", fail_once(libvirt.virConnect.defineXML)):
        with pytest.raises(CIMError), domain.transaction():
            domain.set_autostart(True)  # step 1
            domain.set_memory(131072, live=True)  # step 2: live and config
            edited = domain.config()
            edited.remove_device("hdc")
            domain.redefine(edited)  # step 3: fails
    after = hypervisor.domain(domain.name)
    assert persistent_xml(hypervisor, domain.name) == original_config
    assert after.xml.current_memory_kib == 262144
    assert after.autostart() is False
    assert after.state is DomainState.RUNNING


def test_failed_transaction_undoes_state_changes(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    with pytest.raises(RuntimeError), domain.transaction():
        domain.start()
        raise RuntimeError("a later step failed")
    assert hypervisor.domain(domain.name).state is DomainState.SHUTOFF


def test_failed_transaction_undefines_what_it_defined(hypervisor, rich_xml, guest_name):
    with pytest.raises(CIMError), hypervisor.transaction() as transaction:
        domain = transaction.define(DomainXML.from_string(rich_xml))
        domain.set_autostart(True)
        domain.resume()  # not running: fails
    assert guest_name not in [d.name for d in hypervisor.domains()]


def test_successful_transaction_keeps_every_change(hypervisor, rich_xml):
    with hypervisor.transaction() as transaction:
        domain = transaction.define(DomainXML.from_string(rich_xml))
        domain.set_memory(131072, live=False)
        domain.start()
    after = hypervisor.domain(domain.name)
    assert after.state is DomainState.RUNNING and after.xml.current_memory_kib == 131072
