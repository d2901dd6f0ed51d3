"""The VirtualSystemMigrationService, its capabilities and default setting, through the
dispatcher on the test driver; the moves themselves are in tests/libvirtd."""

from __future__ import annotations

import pytest
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.classes import VIRT_NAMESPACE

SERVICE = "Test_VirtualSystemMigrationService"
CAPABILITIES = "Test_VirtualSystemMigrationCapabilities"
SETTING = "Test_VirtualSystemMigrationSettingData"


def status(error):
    return error.value.status_code


def host_path(hypervisor):
    return CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                               "Name": hypervisor.hostname},
                           namespace=VIRT_NAMESPACE)


def service_path(cim):
    [path] = cim.names(SERVICE)
    return path


def setting(**values):
    """A migration setting as a client embeds it: values as text."""
    return CIMInstance(SETTING, properties={name: str(value) for name, value in values.items()})


# --- the instances ---------------------------------------------------------------------------


def test_service_is_keyed_as_libvirt_cim_keyed_it(cim, hypervisor):
    [service] = cim.enumerate(SERVICE)
    assert service.path.keybindings == {
        "SystemCreationClassName": "Test_HostSystem", "SystemName": hypervisor.hostname,
        "CreationClassName": SERVICE, "Name": "MigrationService"}
    assert service["EnabledState"] == 2


def test_capabilities_list_the_synchronous_methods_and_host_formats(cim):
    [caps] = cim.enumerate(CAPABILITIES)
    assert caps["InstanceID"] == "MigrationCapabilities"
    assert caps["SynchronousMethodsSupported"] == [2, 3, 4, 5]
    assert caps["AsynchronousMethodsSupported"] == []
    assert caps["DestinationHostFormatsSupported"] == [2, 3, 4]


def test_default_setting_is_live_over_ssh(cim):
    [default] = cim.enumerate(SETTING)
    assert default["InstanceID"] == "MigrationSettingData"
    assert (default["MigrationType"], default["Priority"], default["TransportType"]) == (2, 0, 2)


@pytest.mark.parametrize("classname", [SERVICE, CAPABILITIES, SETTING])
def test_each_is_got_by_its_path(cim, classname):
    [path] = cim.names(classname)
    assert cim.get(path).path.keybindings == path.keybindings


@pytest.mark.parametrize("classname, key", [
    (SERVICE, "Name"), (SERVICE, "SystemName"), (CAPABILITIES, "InstanceID"),
    (SETTING, "InstanceID"),
])
def test_a_wrong_key_is_named(cim, classname, key):
    [path] = cim.names(classname)
    path.keybindings[key] = "Wrong"
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert status(error) == CIM_ERR_NOT_FOUND
    assert f"No such instance ({key})" in error.value.status_description


# --- the links -------------------------------------------------------------------------------


def test_host_hosts_the_service_and_has_its_capabilities_by_default(cim, hypervisor):
    host = host_path(hypervisor)
    services = cim.associator_names(host, AssocClass="Test_HostedService", ResultClass=SERVICE)
    assert [p["Name"] for p in services] == ["MigrationService"]
    links = [r for r in cim.references(host, ResultClass="Test_ElementCapabilities")
             if r["Capabilities"].classname == CAPABILITIES]
    assert [r["Characteristics"] for r in links] == [[2]]


def test_service_has_its_capabilities(cim):
    caps = cim.associator_names(service_path(cim), AssocClass="Test_ElementCapabilities")
    assert [(p.classname, p["InstanceID"]) for p in caps] == [
        (CAPABILITIES, "MigrationCapabilities")]
    [caps_path] = caps
    services = cim.associator_names(caps_path, AssocClass="Test_ElementCapabilities",
                                    ResultClass=SERVICE)
    assert [p["Name"] for p in services] == ["MigrationService"]


def test_capabilities_define_the_default_setting_both_ways(cim):
    [caps] = cim.names(CAPABILITIES)
    [link] = cim.references(caps, ResultClass="Test_SettingsDefineCapabilities")
    assert (link["ValueRole"], link["ValueRange"], link["PropertyPolicy"]) == (0, 0, 0)
    assert link["PartComponent"]["InstanceID"] == "MigrationSettingData"
    [default] = cim.names(SETTING)
    back = cim.associators(default, AssocClass="Test_SettingsDefineCapabilities")
    assert [i["InstanceID"] for i in back] == ["MigrationCapabilities"]


# --- the methods' refusals -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["CheckVirtualSystemIsMigratableToHost",
                                    "MigrateVirtualSystemToHost"])
@pytest.mark.parametrize("host", ["", "  ", "user@db2", "db2:22", "db2/system",
                                  "db2?command=sh", "-oProxyCommand=sh", "a..b", "x" * 64,
                                  "db 2", "db2\n", "[db2]"])
def test_a_host_that_is_no_name_or_address_is_refused(cim, method, host):
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), method, ComputerSystem=cim.guest("test"),
                   DestinationHost=host)
    assert status(error) == CIM_ERR_INVALID_PARAMETER
    assert method in error.value.status_description


@pytest.mark.parametrize("method", ["CheckVirtualSystemIsMigratableToHost",
                                    "MigrateVirtualSystemToHost"])
def test_an_unknown_guest_is_not_found_in_libvirt_cims_words(cim, method):
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), method, ComputerSystem=cim.guest("nowhere"),
                   DestinationHost="db2.example.com")
    assert status(error) == CIM_ERR_NOT_FOUND
    assert "Referenced domain `nowhere' does not exist" in error.value.status_description


def test_a_missing_guest_reference_is_an_invalid_parameter(cim):
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), "MigrateVirtualSystemToHost",
                   DestinationHost="db2.example.com")
    assert status(error) == CIM_ERR_INVALID_PARAMETER
    assert "ComputerSystem is required" in error.value.status_description


def test_a_reference_to_something_else_than_a_guest_is_an_invalid_parameter(cim, hypervisor):
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), "MigrateVirtualSystemToHost",
                   ComputerSystem=host_path(hypervisor), DestinationHost="db2.example.com")
    assert status(error) == CIM_ERR_INVALID_PARAMETER


@pytest.mark.parametrize("values, named", [
    ({"TransportType": 1}, "TransportType 1"),
    ({"TransportType": 7}, "TransportType 7"),
    ({"MigrationType": 5}, "MigrationType 5"),
])
def test_a_setting_virtcim_cannot_honour_is_an_invalid_parameter(cim, values, named):
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), "MigrateVirtualSystemToHost",
                   ComputerSystem=cim.guest("test"), DestinationHost="db2.example.com",
                   MigrationSettingData=setting(**values))
    assert status(error) == CIM_ERR_INVALID_PARAMETER
    assert named in error.value.status_description


def test_offline_migration_of_a_running_guest_is_refused_before_connecting(cim, hypervisor):
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), "MigrateVirtualSystemToHost",
                   ComputerSystem=cim.guest("test"), DestinationHost="192.0.2.1",
                   MigrationSettingData=setting(MigrationType=1))
    assert status(error) == CIM_ERR_FAILED
    assert "shut off" in error.value.status_description
    assert hypervisor.domain("test").is_active


@pytest.mark.parametrize("method", ["CheckVirtualSystemIsMigratableToSystem",
                                    "MigrateVirtualSystemToSystem"])
def test_an_unreachable_destination_fails_naming_its_uri(cim, hypervisor, method):
    # Nothing listens for libvirt on loopback's TCP port: the connection is refused.
    destination = CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                                      "Name": "127.0.0.1"})
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), method, ComputerSystem=cim.guest("test"),
                   DestinationSystem=destination, MigrationSettingData=setting(TransportType=5))
    assert status(error) == CIM_ERR_FAILED
    assert "test+tcp://127.0.0.1/default" in error.value.status_description
    assert hypervisor.domain("test").is_active


def test_a_destination_system_without_a_name_is_an_invalid_parameter(cim):
    destination = CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem"})
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), "MigrateVirtualSystemToSystem",
                   ComputerSystem=cim.guest("test"), DestinationSystem=destination)
    assert status(error) == CIM_ERR_INVALID_PARAMETER
    assert "has no Name" in error.value.status_description
