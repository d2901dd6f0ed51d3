"""Settings to and from domain XML (providers.virt.mapping): pure functions, no libvirt."""

from __future__ import annotations

import pytest
from lxml import etree

from providers.virt import DomainXML
from providers.virt.mapping import Kind, SettingsError, processor, resources, system
from tests.sample_domains import RICH_DOMAIN

NAME = "web1"


@pytest.fixture
def xml() -> DomainXML:
    """These functions touch no libvirt, so one fixed name serves every test."""
    return DomainXML.from_string(RICH_DOMAIN.replace("NAME", NAME))


def unmodelled(xml: DomainXML) -> list[bytes]:
    """The elements no setting maps to, serialized: they must never change."""
    kept = ("metadata", "seclabel", "{http://libvirt.org/schemas/domain/qemu/1.0}commandline")
    return [etree.tostring(xml.root.find(tag)) for tag in kept]


def by_id(xml: DomainXML, kind: Kind) -> dict[str, dict]:
    return {s.device_id: s.values for s in resources.settings(xml, [kind])}


# --- reading ---------------------------------------------------------------------------------


def test_every_resource_is_read_with_libvirt_cim_instance_ids(xml):
    ids = [(s.kind, s.values["InstanceID"]) for s in resources.settings(xml)]
    assert (Kind.PROC, "web1/proc") in ids and (Kind.MEM, "web1/mem") in ids
    assert (Kind.DISK, "web1/vda") in ids and (Kind.STORAGE, "web1/vda") in ids
    assert (Kind.NET, "web1/52:54:00:12:34:56") in ids
    assert (Kind.ETHERNET, "web1/52:54:00:ab:cd:ef") in ids
    assert (Kind.GRAPHICS, "web1/vnc") in ids and (Kind.INPUT, "web1/tablet:usb") in ids
    assert (Kind.CONSOLE, "web1/charconsole:0") in ids
    assert (Kind.CONTROLLER, "web1/controller:scsi:0") in ids


def test_memory_is_read_in_kib_named_as_libvirt_cim_named_them(xml):
    mem = by_id(xml, Kind.MEM)["mem"]
    assert mem["AllocationUnits"] == "KiloBytes" and mem["VirtualQuantityUnits"] == "byte*2^10"
    assert (mem["VirtualQuantity"], mem["Reservation"], mem["Limit"]) == (262144, 262144, 524288)


def test_processor_reads_vcpus_in_use_and_no_cap_when_cputune_sets_none(xml):
    proc = by_id(xml, Kind.PROC)["proc"]
    assert proc["ResourceType"] == 3 and proc["VirtualQuantity"] == 1
    assert "Limit" not in proc and "Weight" not in proc


@pytest.mark.parametrize("cputune, limit", [
    ("<global_period>100000</global_period><global_quota>512000</global_quota>", 512),
    ("<global_period>50000</global_period><global_quota>25000</global_quota>", 50),
    ("<global_quota>-1</global_quota><period>100000</period><quota>30000</quota>", 30),
    ("<global_quota>-1</global_quota>", None),
    ("<shares>2048</shares>", None),
])
def test_processor_limit_is_the_cap_on_host_cpu_in_percent(xml, cputune, limit):
    etree.SubElement(xml.root, "cputune").extend(etree.fromstring(f"<x>{cputune}</x>"))
    assert by_id(xml, Kind.PROC)["proc"].get("Limit") == limit


def test_processor_limit_and_weight_are_written_as_cputune_not_vcpus(xml):
    resources.apply_resource(xml, Kind.PROC, {"VirtualQuantity": 3, "Weight": 124, "Limit": 512})
    assert (xml.vcpus, xml.max_vcpus) == (3, 4)
    assert xml.root.findtext("cputune/shares") == "124"
    assert xml.root.findtext("cputune/global_period") == "100000"
    assert xml.root.findtext("cputune/global_quota") == "512000"
    proc = by_id(xml, Kind.PROC)["proc"]
    assert (proc["VirtualQuantity"], proc["Weight"], proc["Limit"]) == (3, 124, 512)


def test_processor_limit_unchanged_keeps_per_vcpu_quotas_as_written(xml):
    etree.SubElement(xml.root, "cputune").extend(
        etree.fromstring("<x><period>100000</period><quota>30000</quota></x>"))
    before = xml.to_string()
    resources.apply_resource(xml, Kind.PROC, dict(by_id(xml, Kind.PROC)["proc"]), "proc")
    assert xml.to_string() == before


def test_processor_limit_zero_removes_the_cap_and_keeps_the_weight(xml):
    resources.apply_resource(xml, Kind.PROC, {"Weight": 124, "Limit": 512})
    resources.apply_resource(xml, Kind.PROC, {"Limit": 0})
    assert xml.root.find("cputune/global_quota") is None
    assert xml.root.findtext("cputune/shares") == "124"
    resources.apply_resource(xml, Kind.PROC, {"Limit": 0})
    assert "Limit" not in by_id(xml, Kind.PROC)["proc"]


def test_processor_scheduler_parameters_for_a_live_change():
    assert processor.cpu_tuning({"Weight": 300, "Limit": 150}) == {
        "cpu_shares": 300, "global_period": 100000, "global_quota": 150000}
    assert processor.cpu_tuning({"Limit": 0}) == {"global_period": 100000, "global_quota": -1}
    assert processor.cpu_tuning({"VirtualQuantity": 2}) == {}


def test_memory_maximum_follows_the_request_when_defining():
    xml = system.new_domain(NAME, "kvm")
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": 128, "AllocationUnits": "MegaBytes"},
                        defining=True)
    assert (xml.current_memory_kib, xml.memory_kib) == (131072, 131072)


def test_memory_maximum_is_a_larger_limit_when_defining():
    xml = system.new_domain(NAME, "kvm")
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": 128, "Limit": 1024,
                                        "AllocationUnits": "MegaBytes"}, defining=True)
    assert (xml.current_memory_kib, xml.memory_kib) == (131072, 1048576)
    only_limit = system.new_domain(NAME, "kvm")
    resources.apply_resource(only_limit, Kind.MEM, {"Limit": 128, "AllocationUnits": "MegaBytes"},
                        defining=True)
    assert (only_limit.current_memory_kib, only_limit.memory_kib) == (131072, 131072)


def test_memory_maximum_of_an_existing_guest_stays_when_it_shrinks(xml):
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": 128, "AllocationUnits": "MegaBytes"})
    assert (xml.current_memory_kib, xml.memory_kib) == (131072, 524288)


def test_disk_and_cdrom_read_as_drives_with_their_image(xml):
    disks = by_id(xml, Kind.DISK)
    assert disks["vda"]["Address"] == "/var/lib/images/web.qcow2"
    assert disks["vda"]["DriverType"] == "qcow2" and disks["vda"]["EmulatedType"] == 0
    assert disks["hdc"]["EmulatedType"] == 1 and disks["hdc"]["readonly"] is True
    assert disks["vda"]["ResourceType"] == disks["hdc"]["ResourceType"] == 17
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
    values = system.system_settings(xml, "KVM", autostart=True)
    assert values["InstanceID"] == "KVM:web1" and values["VirtualSystemIdentifier"] == "web1"
    assert values["BootDevices"] == ["cdrom", "hd"] and values["ClockOffset"] == 1
    assert values["EnableACPI"] and values["EnableAPIC"] and not values["EnablePAE"]
    assert values["AutomaticRecoveryAction"] == 123 and values["AutoStart"] == 1


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Kind.DISK, Kind.NET, Kind.GRAPHICS, Kind.INPUT, Kind.CONSOLE,
                                  Kind.CONTROLLER, Kind.STORAGE, Kind.ETHERNET])
def test_a_device_rebuilt_from_its_setting_reads_back_the_same(xml, kind):
    for setting in resources.settings(xml, [kind]):
        copy = xml.copy()
        copy.remove_device(setting.device_id)
        rebuilt_id = resources.apply_resource(copy, kind, setting.values)
        assert rebuilt_id == setting.device_id
        expected = dict(setting.values)
        if kind is Kind.GRAPHICS:
            expected.pop("Password")  # the mask sets no password on a new device
        assert resources.find_setting(copy, kind, rebuilt_id).values == expected


@pytest.mark.parametrize("kind", list(Kind))
def test_applying_a_setting_unchanged_keeps_the_xml_byte_for_byte(xml, kind):
    before = xml.to_string()
    for setting in resources.settings(xml, [kind]):
        resources.apply_resource(xml, kind, setting.values, setting.device_id)
    assert xml.to_string() == before


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


def test_system_settings_round_trip(xml):
    values = system.system_settings(xml, "KVM", autostart=None)
    target = system.new_domain(NAME, "kvm")
    system.apply_system_settings(target, values)
    again = system.system_settings(target, "KVM", autostart=None)
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
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": quantity, "Limit": quantity,
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
        resources.apply_resource(xml, Kind.MEM, values)
    assert xml.to_string() == before


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, values, fragment", [
    (Kind.DISK, {"Address": "/a.img"}, "VirtualDevice"),
    (Kind.DISK, {"VirtualDevice": "vdz", "Address": "/a", "EmulatedType": 9}, "EmulatedType"),
    (Kind.NET, {"NetworkType": "carrier-pigeon"}, "NetworkType"),
    (Kind.NET, {}, "NetworkType"),
    (Kind.NET, {"NetworkType": "bridge"}, "No Network bridge name specified"),
    (Kind.NET, {"NetworkType": "bridge", "NetworkName": ""}, "Bridge name is empty"),
    (Kind.PROC, {"Weight": 1}, "Weight"),
    (Kind.PROC, {"Limit": 10**18}, "Limit"),
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
        resources.apply_resource(xml, kind, values)
    assert xml.to_string() == before


@pytest.mark.parametrize("generic, values, expected", [
    ("DiskResourceAllocationSettingData", {}, Kind.DISK),
    ("ResourceAllocationSettingData", {"ResourceType": 17}, Kind.DISK),
    ("ResourceAllocationSettingData", {"ResourceType": 1, "OtherResourceType": "console"},
     Kind.CONSOLE),
    ("StorageAllocationSettingData", {"ResourceType": 31}, Kind.STORAGE),
    ("ControllerResourceAllocationSettingData", {"ResourceType": 32771}, Kind.CONTROLLER),
    ("ControllerResourceAllocationSettingData", {"ResourceType": 1}, Kind.CONTROLLER),
    ("ResourceAllocationSettingData", {"ResourceType": 32771}, Kind.CONTROLLER),
    ("ConsoleResourceAllocationSettingData", {"ResourceType": 32769}, Kind.CONSOLE),
])
def test_kind_comes_from_the_class_and_resource_type(generic, values, expected):
    assert resources.kind_of(generic, values) is expected


def test_a_controller_is_answered_as_libvirt_cim_answered_it(xml):
    controller = by_id(xml, Kind.CONTROLLER)["controller:scsi:0"]
    assert (controller["ResourceType"], controller["OtherResourceType"]) == (1, "controller")


def test_an_empty_network_pool_id_names_no_network(xml):
    ident = resources.apply_resource(xml, Kind.NET, {"NetworkType": "network",
                                                "PoolID": "NetworkPool/"})
    assert xml.find_device(ident).find("source").get("network") == ""


@pytest.mark.parametrize("generic, values", [
    ("DiskResourceAllocationSettingData", {"ResourceType": 10}),
    ("NetResourceAllocationSettingData", {"ResourceType": 17}),
    ("ResourceAllocationSettingData", {}),
    ("ResourceAllocationSettingData", {"ResourceType": 2}),
    ("ComputerSystem", {}),
])
def test_resource_type_must_fit_the_class(generic, values):
    with pytest.raises(SettingsError):
        resources.kind_of(generic, values)


def test_a_setting_of_the_wrong_class_for_a_device_is_refused(xml):
    with pytest.raises(SettingsError, match="no NetResourceAllocationSettingData 'vda'"):
        resources.apply_resource(xml, Kind.NET, {"NetworkType": "user"}, "vda")


def test_new_interface_gets_a_mac_in_the_drivers_range(xml):
    ident = resources.apply_resource(xml, Kind.NET, {"NetworkType": "user"}, driver="xen")
    assert ident.startswith("00:16:3e:")


def test_hostile_values_are_escaped_by_the_tree(xml):
    path = "/images/a'b\"<c>&d.img"
    resources.apply_resource(xml, Kind.DISK, {"VirtualDevice": "vdq", "Address": path})
    parsed = DomainXML.from_string(xml.to_string())
    assert by_id(parsed, Kind.DISK)["vdq"]["Address"] == path


def test_clone_renews_identity_and_macs(xml):
    clone = system.clone_definition(xml, "copy")
    assert clone.name == "copy" and clone.uuid is None
    old = {i.mac for i in xml.interfaces()}
    assert not old & {i.mac for i in clone.interfaces()}
    assert unmodelled(clone) == unmodelled(xml)


def test_an_empty_cdrom_reads_as_an_empty_address_as_libvirt_cim_read_it(xml):
    cdrom = xml.find_device("hdc")
    cdrom.remove(cdrom.find("source"))
    drive = by_id(xml, Kind.DISK)["hdc"]
    assert drive["Address"] == "" and "HostResource" not in drive
    resources.apply_resource(xml, Kind.DISK, {"Address": "/iso/new.iso"}, "hdc")
    assert by_id(xml, Kind.DISK)["hdc"]["Address"] == "/iso/new.iso"
    resources.apply_resource(xml, Kind.DISK, {"Address": ""}, "hdc")
    assert xml.find_device("hdc").find("source") is None


def test_an_empty_resource_sub_type_unsets_the_nic_model(xml):
    resources.apply_resource(xml, Kind.NET, {"ResourceSubType": ""}, "52:54:00:12:34:56")
    assert xml.find_device("52:54:00:12:34:56").find("model") is None


def test_a_vnc_password_is_cut_to_the_eight_characters_vnc_uses(xml):
    resources.apply_resource(xml, Kind.GRAPHICS, {"Password": "cimtest123"}, "vnc")
    assert xml.find_device("vnc").get("passwd") == "cimtest1"
