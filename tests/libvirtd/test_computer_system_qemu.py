"""A QEMU guest's life through ComputerSystem.RequestStateChange, checked through CIM and libvirt.

The guest is tiny (no disk, no OS: its firmware idles), so a graceful shut
down is only asked for, never obeyed: the test checks the request is made,
then powers the guest off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libvirt
import pytest
from pywbem import CIM_ERR_FAILED, CIMError, CIMInstanceName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor
from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, ParamValue
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

PREFIX = "KVM"
UNKNOWN, ENABLED, DISABLED, SHUT_DOWN, QUIESCE, REBOOT, RESET = 0, 2, 3, 4, 9, 10, 11


class Guest:
    """One guest, driven and read through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher, name: str) -> None:
        self.dispatcher = dispatcher
        classname = f"{PREFIX}_ComputerSystem"
        self.path = CIMInstanceName(classname, {"CreationClassName": classname, "Name": name},
                                    namespace=VIRT_NAMESPACE)

    def request(self, state: int) -> int:
        params = {"RequestedState": ParamValue("RequestedState", str(state))}
        call = ExtrinsicCall("1", "RequestStateChange", self.path, params)
        return int(self.dispatcher.extrinsic(call).return_value)

    def enabled_state(self) -> int:
        return int(self.get("EnabledState"))

    def get(self, name: str) -> object:
        call = IntrinsicCall("2", "GetInstance", VIRT_NAMESPACE, {"InstanceName": self.path})
        return self.dispatcher.intrinsic(call)[name]

    def service(self, name: str) -> object:
        classname = f"{PREFIX}_VirtualSystemManagementService"
        call = IntrinsicCall("3", "EnumerateInstances", VIRT_NAMESPACE,
                             {"ClassName": classname})
        [service] = list(self.dispatcher.intrinsic(call))
        return service[name]


@pytest.fixture
def guest(qemu_uri: str, qemu_conn: libvirt.virConnect, repository, scratch_guest_name,
          tiny_guest_xml: Callable[[str], str]) -> Iterator[Guest]:
    """A tiny guest defined through libvirt (removed afterwards, whatever happened)."""
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    hv = Hypervisor(qemu_uri)
    registry = ProviderRegistry()
    register_providers(registry, repository, [hv], ProfileRegistry())
    dispatcher = Dispatcher(repository, registry)
    yield Guest(dispatcher, name)
    dispatcher.close()
    hv.close()


def libvirt_state(qemu_conn: libvirt.virConnect, guest: Guest) -> int:
    return qemu_conn.lookupByName(guest.path["Name"]).info()[0]


def test_start_pause_resume_reboot_reset_and_power_off(guest, qemu_conn):
    steps = [
        (ENABLED, libvirt.VIR_DOMAIN_RUNNING, ENABLED),
        (QUIESCE, libvirt.VIR_DOMAIN_PAUSED, QUIESCE),
        (ENABLED, libvirt.VIR_DOMAIN_RUNNING, ENABLED),
        (REBOOT, libvirt.VIR_DOMAIN_RUNNING, ENABLED),
        (RESET, libvirt.VIR_DOMAIN_RUNNING, ENABLED),
        (DISABLED, libvirt.VIR_DOMAIN_SHUTOFF, DISABLED),
    ]
    for requested, in_libvirt, enabled in steps:
        assert guest.request(requested) == 0, requested
        assert libvirt_state(qemu_conn, guest) == in_libvirt, requested
        assert guest.enabled_state() == enabled, requested


def test_shut_down_asks_the_guest_and_power_off_ends_it(guest, qemu_conn):
    assert guest.request(ENABLED) == 0
    assert guest.request(SHUT_DOWN) == 0
    assert libvirt_state(qemu_conn, guest) in (libvirt.VIR_DOMAIN_RUNNING,
                                               libvirt.VIR_DOMAIN_SHUTDOWN,
                                               libvirt.VIR_DOMAIN_SHUTOFF)
    assert guest.request(DISABLED) == 0
    assert libvirt_state(qemu_conn, guest) == libvirt.VIR_DOMAIN_SHUTOFF
    assert guest.enabled_state() == DISABLED


def test_a_stopped_guest_cannot_be_paused(guest, qemu_conn):
    with pytest.raises(CIMError) as error:
        guest.request(QUIESCE)
    assert error.value.status_code == CIM_ERR_FAILED
    assert "Invalid state transition" in error.value.status_description
    assert libvirt_state(qemu_conn, guest) == libvirt.VIR_DOMAIN_SHUTOFF
    assert guest.get("RequestedState") == UNKNOWN


def test_a_paused_guest_cannot_be_paused_again(guest, qemu_conn):
    assert guest.request(ENABLED) == 0
    assert guest.request(QUIESCE) == 0
    with pytest.raises(CIMError) as error:
        guest.request(QUIESCE)
    assert error.value.status_code == CIM_ERR_FAILED
    assert libvirt_state(qemu_conn, guest) == libvirt.VIR_DOMAIN_PAUSED
    assert guest.request(DISABLED) == 0


def test_reset_of_a_paused_guest_leaves_it_running(guest, qemu_conn):
    assert guest.request(ENABLED) == 0
    assert guest.request(QUIESCE) == 0
    assert libvirt_state(qemu_conn, guest) == libvirt.VIR_DOMAIN_PAUSED
    assert guest.request(RESET) == 0
    assert libvirt_state(qemu_conn, guest) == libvirt.VIR_DOMAIN_RUNNING
    assert guest.enabled_state() == ENABLED
    assert guest.get("RequestedState") == RESET
    assert guest.request(DISABLED) == 0


def test_the_service_caption_is_libvirts_hypervisor_type_and_version(guest, qemu_conn):
    version = qemu_conn.getVersion()
    dotted = f"{version // 1000000}.{version // 1000 % 1000}.{version % 1000}"
    # As `virsh version` says "Running hypervisor: QEMU 7.2.0", not the driver's "qemu".
    assert guest.service("Caption") == f"QEMU {dotted}"


def test_starting_a_guest_whose_network_is_missing_fails_naming_libvirts_cause(
        guest, qemu_conn, scratch_network_name):
    missing = scratch_network_name()
    domain = qemu_conn.lookupByName(guest.path["Name"])
    interface = (f"<interface type='network'><source network='{missing}'/>"
                 "<model type='e1000'/></interface>")
    domain.attachDeviceFlags(interface, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    with pytest.raises(CIMError) as error:
        guest.request(ENABLED)
    # The guest exists: libvirt's "Network not found" is a failure to start it.
    assert error.value.status_code == CIM_ERR_FAILED
    assert "Network not found" in error.value.status_description
    assert libvirt_state(qemu_conn, guest) == libvirt.VIR_DOMAIN_SHUTOFF
