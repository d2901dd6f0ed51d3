"""Guests through CIM: ComputerSystem, its RequestStateChange, its capabilities."""

import time
from datetime import timedelta

import libvirt
import pytest
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMDateTime,
    CIMError,
    CIMInstanceName,
)

from providers.classes import VIRT_NAMESPACE
from providers.valuemaps import EnabledState, RequestedState, RequestStateChangeResult

#: libvirt itself refuses names holding '/'.
HOSTILE_NAMES = [
    'it\'s "quoted"',
    "<b>&amp;<b>",
    "with  spaces ",
    "x" * 200,
    "Ünïcødé ☃:;,=",
]


def capabilities_path(name):
    return CIMInstanceName("Test_EnabledLogicalElementCapabilities", {"InstanceID": name},
                           namespace=VIRT_NAMESPACE)


def request(cim, name, state, **params):
    return cim.invoke(cim.guest(name), "RequestStateChange", RequestedState=str(int(state)),
                      **params).return_value


def libvirt_state(libvirt_conn, name):
    return libvirt_conn.lookupByName(name).info()[0]


# -- reading -----------------------------------------------------------------------


def test_the_test_drivers_guest_is_enumerated_with_its_keys_and_uuid(cim, libvirt_conn):
    guests = {inst["Name"]: inst for inst in cim.enumerate("Test_ComputerSystem")}
    test = guests["test"]
    assert test.path.keybindings == {"CreationClassName": "Test_ComputerSystem", "Name": "test"}
    assert test["UUID"] == libvirt_conn.lookupByName("test").UUIDString()
    assert test["ElementName"] == "test"
    assert test["OtherIdentifyingInfo"] == ["Virtual System", "Test Virtual System", test["UUID"]]
    assert test["Dedicated"] == [0]


def test_a_running_guest_is_enabled_and_in_service(cim):
    guest = cim.get(cim.guest("test"))
    assert guest["EnabledState"] == EnabledState.ENABLED
    assert guest["HealthState"] == 5 and guest["OperationalStatus"] == [2]
    assert guest["OperatingStatus"] == 16
    assert guest["RequestedState"] == RequestedState.UNKNOWN
    assert RequestedState.ENABLED not in guest["AvailableRequestedStates"]
    assert RequestedState.QUIESCE in guest["AvailableRequestedStates"]


def test_a_defined_guest_is_disabled_and_stopped(cim, define_guest):
    define_guest("idle")
    guest = cim.get(cim.guest("idle"))
    assert guest["EnabledState"] == EnabledState.DISABLED
    assert guest["OperationalStatus"] == [10] and guest["OperatingStatus"] == 5
    assert guest["AvailableRequestedStates"] == [RequestedState.ENABLED]


def test_a_guest_with_a_saved_state_is_enabled_but_offline_until_started(cim, libvirt_conn):
    domain = libvirt_conn.lookupByName("test")
    domain.managedSave(0)
    guest = cim.get(cim.guest("test"))
    assert guest["EnabledState"] == EnabledState.ENABLED_BUT_OFFLINE
    assert guest["AvailableRequestedStates"] == [RequestedState.ENABLED]
    assert [inst["EnabledState"] for inst in cim.enumerate("Test_ComputerSystem")
            if inst["Name"] == "test"] == [EnabledState.ENABLED_BUT_OFFLINE]

    assert request(cim, "test", RequestedState.ENABLED) == 0
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_RUNNING
    assert not domain.hasManagedSaveImage(0)
    assert cim.get(cim.guest("test"))["EnabledState"] == EnabledState.ENABLED


@pytest.mark.parametrize("pause_first", [False, True])
def test_offline_saves_a_running_or_paused_guests_state_and_stops_it(
        cim, libvirt_conn, pause_first):
    domain = libvirt_conn.lookupByName("test")
    if pause_first:
        domain.suspend()
    assert request(cim, "test", RequestedState.OFFLINE) == 0
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_SHUTOFF
    assert domain.hasManagedSaveImage(0)
    guest = cim.get(cim.guest("test"))
    assert guest["EnabledState"] == EnabledState.ENABLED_BUT_OFFLINE
    assert guest["RequestedState"] == RequestedState.OFFLINE


def test_offline_is_refused_for_a_guest_that_is_not_running(cim, define_guest, libvirt_conn):
    define_guest("idle")
    with pytest.raises(CIMError) as error:
        request(cim, "idle", RequestedState.OFFLINE)
    assert error.value.status_code == CIM_ERR_FAILED
    assert "Invalid state transition" in error.value.status_description
    assert not libvirt_conn.lookupByName("idle").hasManagedSaveImage(0)


def test_guests_are_found_through_the_cim_superclass(cim):
    names = {(path.classname, path["Name"]) for path in cim.names("CIM_ComputerSystem")}
    assert ("Test_ComputerSystem", "test") in names
    assert ("Test_HostSystem", cim.hypervisor.hostname) in names


def test_an_unknown_guest_is_not_found_in_libvirt_cims_words(cim):
    with pytest.raises(CIMError) as error:
        cim.get(cim.guest("no-such-guest"))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    message = error.value.status_description
    assert "No such instance (Name)" in message
    assert "Referenced domain `no-such-guest' does not exist: Domain not found" in message
    assert "test:///default" in message


def test_a_path_with_another_creation_class_is_not_found(cim):
    path = cim.guest("test")
    path.keybindings["CreationClassName"] = "KVM_ComputerSystem"
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "No such instance (CreationClassName)" in error.value.status_description


def test_get_reads_only_the_named_guest(cim, monkeypatch):
    def no_listing():
        raise AssertionError("GetInstance listed every domain")

    monkeypatch.setattr(cim.hypervisor, "domains", no_listing)
    assert cim.get(cim.guest("test"))["Name"] == "test"
    assert cim.get(capabilities_path("test"))["InstanceID"] == "test"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_defined_through_libvirt_are_read_through_cim(cim, define_guest, name):
    define_guest(name)
    assert cim.get(cim.guest(name))["Name"] == name
    assert cim.get(capabilities_path(name))["InstanceID"] == name
    assert name in {inst["Name"] for inst in cim.enumerate("Test_ComputerSystem")}


# -- RequestStateChange -------------------------------------------------------------------


def test_a_guest_goes_through_its_whole_life(cim, define_guest, libvirt_conn):
    define_guest("life")
    assert cim.get(cim.guest("life"))["RequestedState"] == RequestedState.UNKNOWN
    steps = [
        (RequestedState.ENABLED, libvirt.VIR_DOMAIN_RUNNING, EnabledState.ENABLED),
        (RequestedState.QUIESCE, libvirt.VIR_DOMAIN_PAUSED, EnabledState.QUIESCE),
        (RequestedState.ENABLED, libvirt.VIR_DOMAIN_RUNNING, EnabledState.ENABLED),
        (RequestedState.RESET, libvirt.VIR_DOMAIN_RUNNING, EnabledState.ENABLED),
        (RequestedState.REBOOT, libvirt.VIR_DOMAIN_RUNNING, EnabledState.ENABLED),
        (RequestedState.SHUT_DOWN, libvirt.VIR_DOMAIN_SHUTOFF, EnabledState.DISABLED),
        (RequestedState.ENABLED, libvirt.VIR_DOMAIN_RUNNING, EnabledState.ENABLED),
        (RequestedState.DISABLED, libvirt.VIR_DOMAIN_SHUTOFF, EnabledState.DISABLED),
    ]
    for requested, in_libvirt, enabled in steps:
        assert request(cim, "life", requested) == RequestStateChangeResult.COMPLETED, requested
        assert libvirt_state(libvirt_conn, "life") == in_libvirt, requested
        guest = cim.get(cim.guest("life"))
        assert guest["EnabledState"] == enabled, requested
        assert guest["RequestedState"] == requested


def test_resetting_a_paused_guest_leaves_it_running(cim, define_guest, libvirt_conn):
    define_guest("paused")
    libvirt_conn.lookupByName("paused").create()
    libvirt_conn.lookupByName("paused").suspend()
    assert request(cim, "paused", RequestedState.RESET) == RequestStateChangeResult.COMPLETED
    assert libvirt_state(libvirt_conn, "paused") == libvirt.VIR_DOMAIN_RUNNING
    guest = cim.get(cim.guest("paused"))
    assert guest["EnabledState"] == EnabledState.ENABLED
    assert guest["RequestedState"] == RequestedState.RESET


def invalid_transition(cim, name, state):
    """The CIMError a refused state change raises."""
    with pytest.raises(CIMError) as error:
        request(cim, name, state)
    assert error.value.status_code == CIM_ERR_FAILED
    assert "Invalid state transition" in error.value.status_description
    assert repr(name) in error.value.status_description
    return error.value.status_description


@pytest.mark.parametrize("state", [RequestedState.QUIESCE, RequestedState.REBOOT,
                                   RequestedState.RESET, RequestedState.SHUT_DOWN,
                                   RequestedState.DISABLED])
def test_a_stopped_guest_refuses_what_needs_it_running(cim, define_guest, libvirt_conn, state):
    define_guest("stopped")
    assert "not running" in invalid_transition(cim, "stopped", state)
    assert libvirt_state(libvirt_conn, "stopped") == libvirt.VIR_DOMAIN_SHUTOFF
    assert cim.get(cim.guest("stopped"))["RequestedState"] == RequestedState.UNKNOWN


def test_shutting_down_a_paused_guest_is_an_invalid_transition(cim, libvirt_conn):
    libvirt_conn.lookupByName("test").suspend()
    assert "is paused" in invalid_transition(cim, "test", RequestedState.SHUT_DOWN)
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_PAUSED


def test_requesting_the_state_a_guest_is_in_fails_and_keeps_the_last_request(cim, libvirt_conn):
    assert request(cim, "test", RequestedState.QUIESCE) == 0
    invalid_transition(cim, "test", RequestedState.QUIESCE)
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_PAUSED
    assert cim.get(cim.guest("test"))["RequestedState"] == RequestedState.QUIESCE
    assert request(cim, "test", RequestedState.ENABLED) == 0
    invalid_transition(cim, "test", RequestedState.ENABLED)
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_RUNNING


def test_a_guest_defined_again_forgets_the_last_request(cim, define_guest, libvirt_conn):
    uuid = define_guest("again").UUIDString()
    assert request(cim, "again", RequestedState.ENABLED) == 0
    assert cim.get(cim.guest("again"))["RequestedState"] == RequestedState.ENABLED
    domain = libvirt_conn.lookupByName("again")
    xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    domain.destroy()
    domain.undefine()
    libvirt_conn.defineXML(xml)
    deadline = time.monotonic() + 10
    while (cim.get(cim.guest("again"))["RequestedState"] != RequestedState.UNKNOWN
           and time.monotonic() < deadline):
        time.sleep(0.05)
    guest = cim.get(cim.guest("again"))
    assert guest["UUID"] == uuid
    assert guest["RequestedState"] == RequestedState.UNKNOWN


@pytest.mark.parametrize("state, result", [
    (7, RequestStateChangeResult.NOT_SUPPORTED),
    (8, RequestStateChangeResult.NOT_SUPPORTED),
    (12, RequestStateChangeResult.NOT_SUPPORTED),
    (32768, RequestStateChangeResult.NOT_SUPPORTED),
    (0, RequestStateChangeResult.INVALID_PARAMETER),
    (1, RequestStateChangeResult.INVALID_PARAMETER),
    (5, RequestStateChangeResult.INVALID_PARAMETER),
])
def test_states_without_a_libvirt_call_are_refused(cim, libvirt_conn, state, result):
    assert request(cim, "test", state) == result
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_RUNNING


def test_a_timeout_is_refused_and_nothing_changes(cim, libvirt_conn):
    timeout = CIMDateTime(timedelta(seconds=30))
    result = request(cim, "test", RequestedState.QUIESCE, TimeoutPeriod=str(timeout))
    assert result == RequestStateChangeResult.TIMEOUT_NOT_SUPPORTED
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_RUNNING


def test_a_zero_timeout_means_no_limit(cim, libvirt_conn):
    no_limit = CIMDateTime(timedelta(0))
    assert request(cim, "test", RequestedState.QUIESCE, TimeoutPeriod=str(no_limit)) == 0
    assert libvirt_state(libvirt_conn, "test") == libvirt.VIR_DOMAIN_PAUSED


def test_a_state_change_of_an_unknown_guest_is_not_found(cim):
    with pytest.raises(CIMError) as error:
        request(cim, "no-such-guest", RequestedState.ENABLED)
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_a_state_change_needs_the_requested_state(cim):
    with pytest.raises(CIMError) as error:
        cim.invoke(cim.guest("test"), "RequestStateChange")
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_guests_with_hostile_names_change_state(cim, define_guest, libvirt_conn, name):
    define_guest(name)
    assert request(cim, name, RequestedState.ENABLED) == 0
    assert libvirt_state(libvirt_conn, name) == libvirt.VIR_DOMAIN_RUNNING


# -- EnabledLogicalElementCapabilities ---------------------------------------------------


def test_each_guest_has_capabilities_named_after_it(cim, define_guest):
    define_guest("other")
    capabilities = {inst["InstanceID"]: inst
                    for inst in cim.enumerate("Test_EnabledLogicalElementCapabilities")}
    assert {"test", "other"} <= set(capabilities)
    test = capabilities["test"]
    assert test["RequestedStatesSupported"] == [2, 3, 4, 6, 9, 10, 11]
    assert test["ElementNameEditSupported"] is False


def test_capabilities_of_an_unknown_guest_are_not_found(cim):
    with pytest.raises(CIMError) as error:
        cim.get(capabilities_path("no-such-guest"))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "No such instance (InstanceID)" in error.value.status_description
    assert "no-such-guest" in error.value.status_description
