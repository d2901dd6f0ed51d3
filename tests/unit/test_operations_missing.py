"""libvirt-cim's "No such instance (Key)": which key of a path is blamed."""

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from tests.unit.model import NS, cim_status, guest_path
from virtcim.operations.missing import blamed_key, missing_key_error, not_found_message

DEVICE_KEYS = ["SystemCreationClassName", "SystemName", "CreationClassName", "DeviceID"]


def device(system="web", device_id="web/vda", system_class="KVM_ComputerSystem",
           classname="KVM_LogicalDisk"):
    return CIMInstanceName(classname, {"SystemCreationClassName": system_class,
                                       "SystemName": system, "CreationClassName": classname,
                                       "DeviceID": device_id})


EXISTING = [device(), device(device_id="web/vdb"), device("db", "db/vda")]


@pytest.mark.parametrize("path, blamed", [
    (device(system_class="Bogus_ComputerSystem"), "SystemCreationClassName"),
    (device(system="nobody", device_id="nobody/vda"), "SystemName"),
    (device(system="nobody"), "SystemName"),
    (device(classname="KVM_Wrong"), "CreationClassName"),
    (device(device_id="web/vdz"), "DeviceID"),
    # A device of another guest is not found in this one: its identifier is blamed.
    (device(device_id="db/vda"), "DeviceID"),
    (device(), None),
], ids=["system class", "system and device", "system", "class", "device", "elsewhere", "found"])
def test_the_first_key_no_instance_has_is_blamed(path, blamed):
    assert blamed_key(path, DEVICE_KEYS, EXISTING) == blamed


def test_a_missing_key_is_blamed_before_any_value():
    path = device(system="nobody")
    del path.keybindings["DeviceID"]
    assert blamed_key(path, DEVICE_KEYS, EXISTING) == "DeviceID"


def test_values_compare_as_text_and_references_by_keys():
    ref = CIMInstanceName("T_Host", {"Name": "h1"}, namespace=NS)
    existing = [CIMInstanceName("T_Link", {"Port": 5, "Host": ref})]
    sent = CIMInstanceName("T_Link", {"Port": "5", "Host": CIMInstanceName("t_host",
                                                                           {"name": "h1"})})
    assert blamed_key(sent, ["Port", "Host"], existing) is None


def test_the_message_carries_libvirt_cims_words_and_the_detail():
    assert not_found_message("Name", "no guest 'x'") == "No such instance (Name): no guest 'x'"
    assert not_found_message(None, "") == "No such instance"


@pytest.mark.parametrize("operation, param", [("GetInstance", "InstanceName"),
                                              ("AssociatorNames", "ObjectName")])
def test_operations_name_the_key_that_matched_nothing(world, operation, param):
    with pytest.raises(CIMError) as exc:
        world.call(operation, **{param: guest_path("nobody")})
    assert cim_status(exc) == CIM_ERR_NOT_FOUND
    assert exc.value.status_description.startswith("No such instance (Name): ")


def test_a_missing_key_is_named(world):
    with pytest.raises(CIMError) as exc:
        world.call("GetInstance", InstanceName=CIMInstanceName("T_Guest", {"Nmae": "g1"},
                                                               namespace=NS))
    assert exc.value.status_description.startswith("No such instance (Name): ")


@pytest.mark.parametrize("key", ["InstanceID", "DeviceID"])
def test_a_path_without_its_identifier_fails_where_the_provider_requires_it(key):
    error = missing_key_error(key, "KVM_Thing Other='x'", (key, key))
    assert error.status_code == CIM_ERR_FAILED
    assert f"Missing {key}" in error.status_description
    assert f"No {key} specified" in error.status_description


def test_the_identifier_is_named_in_the_providers_words():
    error = missing_key_error("Name", "KVM_ComputerSystem", ("Name", "domain name"))
    assert error.status_code == CIM_ERR_FAILED
    assert error.status_description.startswith("Missing Name: No domain name specified")


@pytest.mark.parametrize("key, identifier", [("InstanceID", None),
                                             ("SystemName", ("DeviceID", "DeviceID"))])
def test_a_path_without_another_key_is_not_found(key, identifier):
    error = missing_key_error(key, "KVM_LogicalDisk DeviceID='web/vda'", identifier)
    assert error.status_code == CIM_ERR_NOT_FOUND
    assert error.status_description.startswith(f"No such instance ({key}): ")
