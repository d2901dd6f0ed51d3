"""A whole domain's resource settings read and applied (providers.virt.mapping.resources).

What each device's settings hold is tested beside its own module (test_mapping_disk...).
"""

from __future__ import annotations

import pytest

from providers.virt.mapping import Kind, SettingsError, resources

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
