"""Instances made once per domain snapshot, and their shaping and encoding reused.

An unchanged guest is served the very same shaped instance request after
request; any change (through this server or through another libvirt
connection) shows in the next request.
"""

from __future__ import annotations

import pytest
from pywbem import CIMInstance

from providers.virt.domain import MEMO_CAPACITY
from tests.providers.conftest import TEST_PREFIX
from virtcim.cimxml.encode import encode_instance, encode_intrinsic_response
from virtcim.cimxml.messages import PullResult
from virtcim.operations.shaping import InstanceView, Shaper
from virtcim.provider import SharedInstance

SYSTEM = f"{TEST_PREFIX}_ComputerSystem"
CAPABILITIES = f"{TEST_PREFIX}_EnabledLogicalElementCapabilities"
DISK = f"{TEST_PREFIX}_DiskResourceAllocationSettingData"


def one(instances, key, value):
    [found] = [inst for inst in instances if inst[key] == value]
    return found


def test_unchanged_guest_is_served_the_same_shaped_instance(cim, define_guest, guest_name):
    define_guest(guest_name)
    first = one(cim.enumerate(SYSTEM), "Name", guest_name)
    again = one(cim.enumerate(SYSTEM), "Name", guest_name)
    assert again is first
    assert cim.get(cim.guest(guest_name)) is first


def test_state_changed_through_another_connection_shows_at_once(cim, define_guest, guest_name):
    domain = define_guest(guest_name)
    domain.create()
    running = one(cim.enumerate(SYSTEM), "Name", guest_name)
    domain.suspend()
    paused = one(cim.enumerate(SYSTEM), "Name", guest_name)
    assert (running["EnabledState"], paused["EnabledState"]) == (2, 9)


def test_requested_state_shows_although_the_guest_is_unchanged(cim, define_guest, guest_name):
    define_guest(guest_name).create()
    before = cim.get(cim.guest(guest_name))
    result = cim.invoke(cim.guest(guest_name), "RequestStateChange", RequestedState=9)
    after = cim.get(cim.guest(guest_name))
    assert result.return_value == 0
    assert (before["RequestedState"], after["RequestedState"]) == (0, 9)


def test_capabilities_of_an_unchanged_guest_are_the_same_instance(cim, define_guest, guest_name):
    define_guest(guest_name)
    first = one(cim.enumerate(CAPABILITIES), "InstanceID", guest_name)
    assert one(cim.enumerate(CAPABILITIES), "InstanceID", guest_name) is first


def test_disk_redefined_through_another_connection_shows(cim, define_guest, guest_name, wait_for):
    domain = define_guest(guest_name)
    disk_id = f"{guest_name}/vda"
    first = one(cim.enumerate(DISK), "InstanceID", disk_id)
    assert one(cim.enumerate(DISK), "InstanceID", disk_id) is first
    define_guest(guest_name, domain.XMLDesc(0).replace("/guest.img", "/other.img"))
    wait_for(lambda: one(cim.enumerate(DISK), "InstanceID", disk_id)["Address"] == "/other.img")


def test_each_view_is_shaped_once_and_plain_instances_every_time(repository):
    shaper = Shaper(repository, "host")
    built = repository.build_instance("root/virt", CAPABILITIES, {"InstanceID": "g"})
    shared = repository.build_instance("root/virt", CAPABILITIES, {"InstanceID": "g"},
                                       SharedInstance)
    full = shaper.instance("root/virt", CAPABILITIES, shared)
    some = shaper.instance("root/virt", CAPABILITIES, shared, InstanceView.of(["InstanceID"]))
    assert shaper.instance("root/virt", CAPABILITIES, shared) is full
    assert some is not full and list(some.properties) == ["InstanceID"]
    assert shaper.instance("root/virt", CAPABILITIES, built) is not (
        shaper.instance("root/virt", CAPABILITIES, built))


def test_shared_instance_is_encoded_once_as_plain_encoding_would(repository):
    shaper = Shaper(repository, "host")
    shared = repository.build_instance("root/virt", CAPABILITIES, {"InstanceID": "g"},
                                       SharedInstance)
    shaped = shaper.instance("root/virt", CAPABILITIES, shared)
    text = encode_instance(shaped)
    assert encode_instance(shaped) is text
    assert text == encode_instance(CIMInstance(shaped.classname, shaped.properties))


@pytest.mark.parametrize("operation", [
    "EnumerateInstances", "OpenEnumerateInstances", "Associators"])
def test_shared_instance_is_written_with_its_path_once_as_plain_encoding_would(
        repository, operation):
    shaper = Shaper(repository, "host")
    shared = repository.build_instance("root/virt", CAPABILITIES, {"InstanceID": "g"},
                                       SharedInstance)
    shaped = shaper.instance("root/virt", CAPABILITIES, shared)
    plain = CIMInstance(shaped.classname, shaped.properties, path=shaped.path)
    result = [shaped] if operation != "OpenEnumerateInstances" else PullResult([shaped], True, "")
    plain_result = [plain] if operation != "OpenEnumerateInstances" else (
        PullResult([plain], True, ""))

    def written(items: object) -> bytes:
        return b"".join(encode_intrinsic_response("1", operation, items))

    assert written(result) == written(plain_result)
    assert len(shaped.wrapped) == 1
    kept = next(iter(shaped.wrapped.values()))
    written(result)
    assert next(iter(shaped.wrapped.values())) is kept


def test_memo_keeps_a_bounded_number_of_values(hypervisor, define_guest, guest_name):
    define_guest(guest_name)
    domain = hypervisor.domain(guest_name)
    kept = [domain.memo(n, object) for n in range(MEMO_CAPACITY + 1)]
    assert domain.memo(0, object) is kept[0]
    assert domain.memo(MEMO_CAPACITY, object) is not kept[-1]
