"""Settings to and from domain XML (providers.virt.rasd): pure functions, no libvirt."""

from __future__ import annotations

import pytest
from lxml import etree

from providers.virt import DomainXML, rasd
from providers.virt.rasd import Kind, SettingsError

NAME = "web1"


@pytest.fixture
def guest_name() -> str:
    """These functions touch no libvirt, so one fixed name serves every test."""
    return NAME


@pytest.fixture
def xml(rich_xml: str) -> DomainXML:
    return DomainXML.from_string(rich_xml)


def unmodelled(xml: DomainXML) -> list[bytes]:
    """The elements no setting maps to, serialized: they must never change."""
    kept = ("metadata", "seclabel", "{http://libvirt.org/schemas/domain/qemu/1.0}commandline")
    return [etree.tostring(xml.root.find(tag)) for tag in kept]


def by_id(xml: DomainXML, kind: Kind) -> dict[str, dict]:
    return {s.device_id: s.values for s in rasd.settings(xml, [kind])}


# --- reading ---------------------------------------------------------------------------------


def test_every_resource_is_read_with_libvirt_cim_instance_ids(xml):
    ids = [(s.kind, s.values["InstanceID"]) for s in rasd.settings(xml)]
    assert (Kind.PROC, "web1/proc") in ids and (Kind.MEM, "web1/mem") in ids
    assert (Kind.DISK, "web1/vda") in ids and (Kind.STORAGE, "web1/vda") in ids
    assert (Kind.NET, "web1/52:54:00:12:34:56") in ids
    assert (Kind.ETHERNET, "web1/52:54:00:ab:cd:ef") in ids
    assert (Kind.GRAPHICS, "web1/vnc") in ids and (Kind.INPUT, "web1/tablet:usb") in ids
    assert (Kind.CONSOLE, "web1/charconsole:0") in ids
    assert (Kind.CONTROLLER, "web1/controller:scsi:0") in ids


def test_consoles_and_controllers_report_libvirt_cims_resource_types(xml):
    assert by_id(xml, Kind.CONSOLE)["charconsole:0"]["ResourceType"] == 32769
    assert by_id(xml, Kind.CONTROLLER)["controller:scsi:0"]["ResourceType"] == 32771


def test_memory_is_read_in_kib_with_programmatic_units(xml):
    mem = by_id(xml, Kind.MEM)["mem"]
    assert mem["AllocationUnits"] == "byte*2^10"
    assert (mem["VirtualQuantity"], mem["Reservation"], mem["Limit"]) == (262144, 262144, 524288)


def test_processor_reads_current_and_maximum_vcpus(xml):
    proc = by_id(xml, Kind.PROC)["proc"]
    assert proc["ResourceType"] == 3 and proc["VirtualQuantity"] == 1 and proc["Limit"] == 4


def test_disk_and_cdrom_read_as_drives_with_their_image(xml):
    disks = by_id(xml, Kind.DISK)
    assert disks["vda"]["Address"] == "/var/lib/images/web.qcow2"
    assert disks["vda"]["DriverType"] == "qcow2" and disks["vda"]["EmulatedType"] == 0
    assert disks["hdc"]["EmulatedType"] == 1 and disks["hdc"]["readonly"] is True
    assert disks["hdc"]["ResourceType"] == 15
    storage = by_id(xml, Kind.STORAGE)["hdc"]
    assert storage["ResourceType"] == 31 and storage["Access"] == 1
    assert storage["HostResource"] == ["/iso/install.iso"]


def test_interfaces_read_type_source_and_pool(xml):
    nics = by_id(xml, Kind.NET)
    assert nics["52:54:00:12:34:56"]["NetworkType"] == "network"
    assert nics["52:54:00:12:34:56"]["PoolID"] == "NetworkPool/default"
    assert nics["52:54:00:ab:cd:ef"]["NetworkName"] == "br0"
    assert by_id(xml, Kind.ETHERNET)["52:54:00:12:34:56"]["ResourceType"] == 33


def test_graphics_password_is_never_read_back(xml):
    vnc = by_id(xml, Kind.GRAPHICS)["vnc"]
    assert vnc["Password"] == "********" and "s3cret" not in repr(vnc)
    assert vnc["Address"] == "127.0.0.1:-1"


def test_system_settings_read_the_domain_top_level(xml):
    values = rasd.system_settings(xml, "KVM", autostart=True)
    assert values["InstanceID"] == "KVM:web1" and values["VirtualSystemIdentifier"] == "web1"
    assert values["BootDevices"] == ["cdrom", "hd"] and values["ClockOffset"] == 1
    assert values["EnableACPI"] and values["EnableAPIC"] and not values["EnablePAE"]
    assert values["AutomaticRecoveryAction"] == 123 and values["AutoStart"] == 1


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Kind.DISK, Kind.NET, Kind.GRAPHICS, Kind.INPUT, Kind.CONSOLE,
                                  Kind.CONTROLLER, Kind.STORAGE, Kind.ETHERNET])
def test_a_device_rebuilt_from_its_setting_reads_back_the_same(xml, kind):
    for setting in rasd.settings(xml, [kind]):
        copy = xml.copy()
        copy.remove_device(setting.device_id)
        rebuilt_id = rasd.apply_resource(copy, kind, setting.values)
        assert rebuilt_id == setting.device_id
        expected = dict(setting.values)
        if kind is Kind.GRAPHICS:
            expected.pop("Password")  # the mask sets no password on a new device
        assert rasd.find_setting(copy, kind, rebuilt_id).values == expected


@pytest.mark.parametrize("kind", list(Kind))
def test_applying_a_setting_unchanged_keeps_the_xml_byte_for_byte(xml, kind):
    before = xml.to_string()
    for setting in rasd.settings(xml, [kind]):
        rasd.apply_resource(xml, kind, setting.values, setting.device_id)
    assert xml.to_string() == before


def test_editing_a_disk_keeps_unknown_attributes_and_children(xml):
    disk = xml.find_device("vda")
    disk.set("x-vendor", "1")
    etree.SubElement(disk, "iotune").text = "keep"
    before = unmodelled(xml)
    rasd.apply_resource(xml, Kind.DISK, {"Address": "/images/other.raw", "DriverType": "raw"},
                        "vda")
    disk = xml.find_device("vda")
    assert disk.get("x-vendor") == "1" and disk.findtext("iotune") == "keep"
    assert disk.find("source").get("file") == "/images/other.raw"
    assert disk.find("driver").get("name") == "qemu"
    assert unmodelled(xml) == before


def test_system_settings_round_trip(xml):
    values = rasd.system_settings(xml, "KVM", autostart=None)
    target = rasd.new_domain(NAME, "kvm")
    rasd.apply_system_settings(target, values)
    again = rasd.system_settings(target, "KVM", autostart=None)
    for name in ("BootDevices", "ClockOffset", "EnableACPI", "EnableAPIC", "EnablePAE", "Arch",
                 "Machine", "Emulator", "AutomaticShutdownAction", "AutomaticRecoveryAction"):
        assert again[name] == values[name], name


# --- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity, unit, kib", [
    (512, "MegaBytes", 524288),
    (512, "MiB", 524288),
    (1, "GiB", 1048576),
    (524288, "KiloBytes", 524288),
    (524288, "byte*2^10", 524288),
    (512, "byte * 2^20", 524288),
    (536870912, "Bytes", 524288),
    (1000, "byte", 1),
])
def test_memory_units_convert_to_kib(xml, quantity, unit, kib):
    rasd.apply_resource(xml, Kind.MEM, {"VirtualQuantity": quantity, "Limit": quantity,
                                        "AllocationUnits": unit})
    assert xml.memory_kib == kib and xml.current_memory_kib == kib


@pytest.mark.parametrize("values, fragment", [
    ({"VirtualQuantity": 1, "AllocationUnits": "furlongs"}, "AllocationUnits"),
    ({"VirtualQuantity": -1, "AllocationUnits": "MiB"}, "negative"),
    ({"VirtualQuantity": 0, "AllocationUnits": "MiB"}, "zero"),
    ({"VirtualQuantity": 1024, "Limit": 512, "AllocationUnits": "MiB"}, "exceeds"),
    ({"VirtualQuantity": 1, "AllocationUnits": "byte*2^70"}, "2^64"),
])
def test_bad_memory_settings_are_refused_and_change_nothing(xml, values, fragment):
    before = xml.to_string()
    with pytest.raises(SettingsError, match=fragment.replace("^", r"\^")):
        rasd.apply_resource(xml, Kind.MEM, values)
    assert xml.to_string() == before


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, values, fragment", [
    (Kind.DISK, {"Address": "/a.img"}, "VirtualDevice"),
    (Kind.DISK, {"VirtualDevice": "vdz", "Address": "/a", "EmulatedType": 9}, "EmulatedType"),
    (Kind.NET, {"NetworkType": "carrier-pigeon"}, "NetworkType"),
    (Kind.NET, {}, "NetworkType"),
    (Kind.NET, {"NetworkType": "bridge"}, "NetworkName"),
    (Kind.NET, {"NetworkType": "network", "Address": "not-a-mac", "NetworkName": "x"}, "MAC"),
    (Kind.NET, {"NetworkType": "network", "PoolID": "DiskPool/x"}, "PoolID"),
    (Kind.GRAPHICS, {"ResourceSubType": "vnc", "Address": "nowhere"}, "Address"),
    (Kind.INPUT, {"ResourceSubType": "joystick"}, "ResourceSubType"),
    (Kind.CONSOLE, {}, "SourceType"),
    (Kind.CONSOLE, {"SourceType": 8, "ConnectURL": "gopher://x"}, "ConnectURL"),
    (Kind.CONTROLLER, {"ResourceSubType": "scsi"}, "Index"),
    (Kind.PROC, {"VirtualQuantity": 0}, "VirtualQuantity"),
])
def test_invalid_settings_name_the_property(xml, kind, values, fragment):
    before = xml.to_string()
    with pytest.raises(SettingsError, match=fragment):
        rasd.apply_resource(xml, kind, values)
    assert xml.to_string() == before


@pytest.mark.parametrize("generic, values, expected", [
    ("DiskResourceAllocationSettingData", {}, Kind.DISK),
    ("ResourceAllocationSettingData", {"ResourceType": 17}, Kind.DISK),
    ("ResourceAllocationSettingData", {"ResourceType": 1, "OtherResourceType": "console"},
     Kind.CONSOLE),
    ("StorageAllocationSettingData", {"ResourceType": 31}, Kind.STORAGE),
    # libvirt-cim's own values, as its clients send them.
    ("ControllerResourceAllocationSettingData", {"ResourceType": 32771}, Kind.CONTROLLER),
    ("ControllerResourceAllocationSettingData", {"ResourceType": 1}, Kind.CONTROLLER),
    ("ResourceAllocationSettingData", {"ResourceType": 32771}, Kind.CONTROLLER),
    ("ConsoleResourceAllocationSettingData", {"ResourceType": 32769}, Kind.CONSOLE),
])
def test_kind_comes_from_the_class_and_resource_type(generic, values, expected):
    assert rasd.kind_of(generic, values) is expected


@pytest.mark.parametrize("generic, values", [
    ("DiskResourceAllocationSettingData", {"ResourceType": 10}),
    ("NetResourceAllocationSettingData", {"ResourceType": 17}),
    ("ResourceAllocationSettingData", {}),
    ("ResourceAllocationSettingData", {"ResourceType": 2}),
    ("ComputerSystem", {}),
])
def test_resource_type_must_fit_the_class(generic, values):
    with pytest.raises(SettingsError):
        rasd.kind_of(generic, values)


def test_a_setting_of_the_wrong_class_for_a_device_is_refused(xml):
    with pytest.raises(SettingsError, match="no NetResourceAllocationSettingData 'vda'"):
        rasd.apply_resource(xml, Kind.NET, {"NetworkType": "user"}, "vda")


def test_new_interface_gets_a_mac_in_the_drivers_range(xml):
    ident = rasd.apply_resource(xml, Kind.NET, {"NetworkType": "user"}, driver="xen")
    assert ident.startswith("00:16:3e:")


def test_hostile_values_are_escaped_by_the_tree(xml):
    path = "/images/a'b\"<c>&d.img"
    rasd.apply_resource(xml, Kind.DISK, {"VirtualDevice": "vdq", "Address": path})
    parsed = DomainXML.from_string(xml.to_string())
    assert by_id(parsed, Kind.DISK)["vdq"]["Address"] == path


def test_clone_renews_identity_and_macs(xml):
    clone = rasd.clone_definition(xml, "copy")
    assert clone.name == "copy" and clone.uuid is None
    old = {i.mac for i in xml.interfaces()}
    assert not old & {i.mac for i in clone.interfaces()}
    assert unmodelled(clone) == unmodelled(xml)
