"""A guest's devices through CIM: one class per kind, keys and DeviceIDs as libvirt-cim."""

import pytest
from lxml import etree
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from tests.providers.conftest import minimal_domain_xml


@pytest.fixture
def rich_guest(define_guest, rich_xml, guest_name):
    """A shut-off guest with one device of each kind (see conftest.RICH_DOMAIN)."""
    define_guest(guest_name, rich_xml)
    return guest_name


def devices_of(cim, classname, guest):
    return {inst["DeviceID"]: inst for inst in cim.enumerate(classname)
            if inst["SystemName"] == guest}


def device_path(classname, guest, device_id, system_name=None):
    return CIMInstanceName(classname, {
        "SystemCreationClassName": "Test_ComputerSystem",
        "SystemName": system_name or guest,
        "CreationClassName": classname,
        "DeviceID": device_id,
    }, namespace=VIRT_NAMESPACE)


def test_device_keys_name_the_guest_and_the_class(cim, rich_guest):
    disk = devices_of(cim, "Test_LogicalDisk", rich_guest)[f"{rich_guest}/vda"]
    assert disk.path.keybindings == {
        "SystemCreationClassName": "Test_ComputerSystem",
        "SystemName": rich_guest,
        "CreationClassName": "Test_LogicalDisk",
        "DeviceID": f"{rich_guest}/vda",
    }


def test_one_processor_per_vcpu_in_use(cim, rich_guest):
    processors = devices_of(cim, "Test_Processor", rich_guest)
    assert list(processors) == [f"{rich_guest}/0"]


def test_memory_counts_kib_blocks_of_maximum_and_current_size(cim, rich_guest):
    memory = devices_of(cim, "Test_Memory", rich_guest)[f"{rich_guest}/mem"]
    # libvirt-cim's 4 KiB blocks, which its clients multiply by
    assert memory["BlockSize"] == 4096
    assert memory["NumberOfBlocks"] == 512 * 256
    assert memory["ConsumableBlocks"] == 256 * 256


def test_disks_are_named_by_target_device(cim, rich_guest):
    disks = devices_of(cim, "Test_LogicalDisk", rich_guest)
    assert set(disks) == {f"{rich_guest}/vda", f"{rich_guest}/hdc"}
    assert disks[f"{rich_guest}/hdc"]["Name"] == "hdc"
    assert disks[f"{rich_guest}/hdc"]["Caption"] == "cdrom"


def test_network_ports_are_named_by_mac(cim, rich_guest):
    ports = devices_of(cim, "Test_NetworkPort", rich_guest)
    assert set(ports) == {f"{rich_guest}/52:54:00:12:34:56", f"{rich_guest}/52:54:00:ab:cd:ef"}
    port = ports[f"{rich_guest}/52:54:00:12:34:56"]
    assert port["NetworkAddresses"] == ["52:54:00:12:34:56"]
    assert port["PermanentAddress"] == "525400123456"
    assert port["LinkTechnology"] == 2


def test_graphics_consoles_inputs_and_controllers(cim, rich_guest):
    display = devices_of(cim, "Test_DisplayController", rich_guest)
    assert display[f"{rich_guest}/vnc"]["VideoProcessor"] == "vnc/127.0.0.1:-1"
    consoles = devices_of(cim, "Test_ConsoleDisplayController", rich_guest)
    assert consoles[f"{rich_guest}/charconsole:0"]["VideoProcessor"] == "pty"
    tablet = devices_of(cim, "Test_PointingDevice", rich_guest)[f"{rich_guest}/tablet:usb"]
    assert tablet["Caption"] == "USB Tablet" and tablet["PointingType"] == 1
    controllers = devices_of(cim, "Test_Controller", rich_guest)
    scsi = controllers[f"{rich_guest}/controller:scsi:0"]
    assert scsi["ProtocolSupported"] == 9
    assert scsi["ProtocolDescription"] == "scsi virtio-scsi"


def test_keyboards_are_pointing_devices_of_unknown_type_as_libvirt_cim_listed_them(
        cim, define_guest, rich_xml, guest_name, libvirt_conn):
    tablet = "<input type='tablet' bus='usb'/>"
    define_guest(guest_name, rich_xml.replace(tablet, tablet + "<input type='keyboard' bus='ps2'/>"))
    assert "keyboard" in libvirt_conn.lookupByName(guest_name).XMLDesc(0)
    pointing = devices_of(cim, "Test_PointingDevice", guest_name)
    assert set(pointing) == {f"{guest_name}/tablet:usb", f"{guest_name}/keyboard:ps2"}
    keyboard = pointing[f"{guest_name}/keyboard:ps2"]
    assert (keyboard["PointingType"], keyboard["Caption"]) == (2, "PS2 Keyboard")
    # Each input device and its setting define one another.
    setting = cim.associator_names(keyboard.path, AssocClass="Test_SettingsDefineState")
    assert [(p.classname, p["InstanceID"]) for p in setting] == [
        ("Test_InputResourceAllocationSettingData", f"{guest_name}/keyboard:ps2")]


def test_devices_follow_their_guests_state(cim, rich_guest, libvirt_conn):
    memory_path = device_path("Test_Memory", rich_guest, f"{rich_guest}/mem")
    assert cim.get(memory_path)["EnabledState"] == 3
    libvirt_conn.lookupByName(rich_guest).create()
    assert cim.get(memory_path)["EnabledState"] == 2
    processor = cim.get(device_path("Test_Processor", rich_guest, f"{rich_guest}/0"))
    assert processor["CPUStatus"] == 1


def test_every_device_enumerated_can_be_got(cim, rich_guest):
    devices = [inst for inst in cim.enumerate("CIM_LogicalDevice")
               if inst["SystemName"] == rich_guest]
    assert len(devices) >= 10
    for device in devices:
        assert cim.get(device.path)["DeviceID"] == device["DeviceID"]


@pytest.mark.parametrize("device_id, system_name, reason", [
    ("{guest}/vdz", None, "DeviceID"),
    ("vda", None, "bad id vda"),
    ("{guest}/", None, "DeviceID"),
    ("other/vda", None, "SystemName"),
    ("{guest}/vda", "no-such-guest", "SystemName"),
])
def test_devices_that_do_not_exist_are_not_found(cim, rich_guest, device_id, system_name,
                                                 reason):
    path = device_path("Test_LogicalDisk", rich_guest, device_id.format(guest=rich_guest),
                       system_name)
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert f"No such instance ({reason})" in error.value.status_description


@pytest.mark.parametrize("key, reason", [
    ("CreationClassName", "CreationClassName"),
    ("SystemCreationClassName", "SystemCreationClassName"),
])
def test_a_wrong_class_key_is_named_as_libvirt_cim_named_it(cim, rich_guest, key, reason):
    path = device_path("Test_LogicalDisk", rich_guest, f"{rich_guest}/vda")
    path.keybindings[key] = "invalid"
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert f"No such instance ({reason})" in error.value.status_description


def test_a_device_of_another_class_is_not_found(cim, rich_guest):
    path = device_path("Test_Memory", rich_guest, f"{rich_guest}/vda")
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_get_reads_only_the_devices_guest(cim, rich_guest, monkeypatch):
    def no_listing():
        raise AssertionError("GetInstance listed every domain")

    monkeypatch.setattr(cim.hypervisor, "domains", no_listing)
    assert cim.get(device_path("Test_LogicalDisk", rich_guest, f"{rich_guest}/vda"))["Name"] == "vda"


def test_a_guest_with_a_hostile_name_has_its_devices(cim, define_guest):
    name = '<dev> & "co" x' + "y" * 150
    define_guest(name)
    memory = cim.get(device_path("Test_Memory", name, f"{name}/mem"))
    assert memory["SystemName"] == name
    assert set(devices_of(cim, "Test_Processor", name)) == {f"{name}/0", f"{name}/1"}


@pytest.mark.parametrize("attributes, listen, expected", [
    ({"type": "vnc", "port": "-1", "autoport": "yes"}, None, "vnc/127.0.0.1:-1"),
    ({"type": "vnc", "autoport": "yes"}, None, "vnc/127.0.0.1:-1"),
    ({"type": "vnc", "port": "5901", "autoport": "no", "listen": "0.0.0.0"}, None,
     "vnc/0.0.0.0:5901"),
    ({"type": "vnc", "port": "-1", "autoport": "yes"}, "::1", "vnc/[::1]:-1"),
    ({"type": "spice", "port": "5930", "autoport": "no"}, "10.0.0.1", "spice/10.0.0.1:5930"),
    ({"type": "sdl", "display": ":0"}, None, "sdl"),
], ids=["autoport", "no-port", "fixed-port", "ipv6", "spice", "sdl"])
def test_video_processor_is_libvirt_cims_address_also_while_off(
        cim, define_guest, guest_name, attributes, listen, expected):
    domain = etree.fromstring(minimal_domain_xml(guest_name))
    graphics = etree.SubElement(domain.find("devices"), "graphics", attributes)
    if listen:
        etree.SubElement(graphics, "listen", type="address", address=listen)
    define_guest(guest_name, etree.tostring(domain, encoding="unicode"))
    [display] = devices_of(cim, "Test_DisplayController", guest_name).values()
    assert display["VideoProcessor"] == expected
