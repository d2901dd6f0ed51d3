"""What becomes an indication, decided without I/O: the settings a change made, the filters
that want them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint64,
)

from providers.classes import INTEROP_NAMESPACE
from providers.indications import setting_changes
from virtcim.indications import IndicationBroker
from virtcim.state import StateStore


def setting(instance_id: str, classname: str = "KVM_MemResourceAllocationSettingData",
            **values: object) -> CIMInstance:
    return CIMInstance(classname, properties={"InstanceID": instance_id, **values})


def test_settings_that_appear_change_or_go_are_told_apart_by_instance_id():
    memory = setting("web1/mem", VirtualQuantity=Uint64(65536))
    bigger = setting("web1/mem", VirtualQuantity=Uint64(131072))
    disk = setting("web1/vda", "KVM_DiskResourceAllocationSettingData")
    nic = setting("web1/00:11:22:33:44:55", "KVM_NetResourceAllocationSettingData")
    before = {"web1/mem": memory, "web1/vda": disk}
    after = {"web1/mem": bigger, "web1/00:11:22:33:44:55": nic}
    assert setting_changes(before, after) == [
        ("ResourceAllocationSettingDataModifiedIndication", bigger, memory),
        ("ResourceAllocationSettingDataCreatedIndication", nic, None),
        ("ResourceAllocationSettingDataDeletedIndication", disk, None),
    ]


def test_unchanged_settings_make_no_indication():
    memory = setting("web1/mem", VirtualQuantity=Uint64(65536))
    assert setting_changes({"web1/mem": memory}, {"web1/mem": memory.copy()}) == []


def test_a_guest_defined_or_undefined_gives_every_setting():
    settings = {f"web1/{name}": setting(f"web1/{name}") for name in ("mem", "proc")}
    assert [kind for kind, _, _ in setting_changes({}, settings)] == [
        "ResourceAllocationSettingDataCreatedIndication"] * 2
    assert [kind for kind, _, _ in setting_changes(settings, {})] == [
        "ResourceAllocationSettingDataDeletedIndication"] * 2


@pytest.fixture
def broker(repository):
    found = IndicationBroker(repository, INTEROP_NAMESPACE, "host", StateStore(None))
    yield found
    found.close()


def subscribe(broker: IndicationBroker, query: str, **values: object) -> None:
    found = broker.create_filter(CIMInstance("CIM_IndicationFilter", properties={
        "Name": query, "Query": query, "QueryLanguage": "DMTF:CQL"}))
    destination = broker.create_destination(CIMInstance(
        "CIM_ListenerDestinationCIMXML",
        properties={"Name": query, "Destination": "http://127.0.0.1:9/"}))
    broker.create_subscription(CIMInstance("CIM_IndicationSubscription", properties={
        "Filter": CIMInstanceName("CIM_IndicationFilter", {"Name": found["Name"]}),
        "Handler": CIMInstanceName("CIM_ListenerDestinationCIMXML",
                                   {"Name": destination["Name"]}),
        **values}))


@pytest.mark.parametrize(("query", "selected"), [
    ("SELECT * FROM KVM_ResourceAllocationSettingDataCreatedIndication", True),
    ("SELECT * FROM CIM_InstCreation", True),
    ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ManagedElement", True),
    ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA "
     "KVM_DiskResourceAllocationSettingData AND SourceInstance.Address IS NOT NULL", True),
    ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ComputerSystem "
     "OR SourceInstance.InstanceID = 'web1/mem'", True),
    ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ComputerSystem", False),
    ("SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_ConcreteJob "
     "AND SourceInstance.JobState = 7", False),
    ("SELECT * FROM KVM_ComputerSystemCreatedIndication", False),
    ("SELECT * FROM CIM_InstDeletion", False),
])
def test_a_producer_learns_whether_a_filter_selects_its_classes(broker, query, selected):
    classes = ["KVM_ResourceAllocationSettingDataCreatedIndication"]
    source = "CIM_ResourceAllocationSettingData"
    assert not broker.selects(classes, source)
    subscribe(broker, query)
    assert broker.selects(classes, source) is selected


def test_a_subscription_with_a_duration_says_what_is_left_and_is_removed_when_it_ends(broker):
    subscribe(broker, "SELECT * FROM CIM_InstCreation", SubscriptionDuration=Uint64(1))
    [(key, values)] = broker.subscriptions()
    assert values["SubscriptionDuration"] == 1
    assert values["SubscriptionTimeRemaining"] == 1
    assert broker.active
    deadline = time.monotonic() + 3
    while broker.subscriptions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.subscriptions() == []
    assert not broker.active


def test_a_subscription_without_a_duration_has_no_time_remaining(broker):
    subscribe(broker, "SELECT * FROM CIM_InstCreation")
    [(_, values)] = broker.subscriptions()
    assert "SubscriptionTimeRemaining" not in values


@pytest.mark.parametrize("duration", [Uint64(0), "soon"])
def test_a_duration_that_is_no_number_of_seconds_is_refused(broker, duration):
    with pytest.raises(CIMError) as failure:
        subscribe(broker, "SELECT * FROM CIM_InstCreation", SubscriptionDuration=duration)
    assert failure.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert broker.subscriptions() == []


def test_a_permanent_subscription_whose_time_ran_out_while_stopped_is_gone_at_start(
        repository, tmp_path):
    store = StateStore(tmp_path / "state.sqlite")
    first = IndicationBroker(repository, INTEROP_NAMESPACE, "host", store)
    subscribe(first, "SELECT * FROM CIM_InstCreation", SubscriptionDuration=Uint64(1),
              SubscriptionStartTime=CIMDateTime(datetime.now(timezone.utc) - timedelta(hours=1)))
    first.close()
    second = IndicationBroker(repository, INTEROP_NAMESPACE, "host", store)
    try:
        deadline = time.monotonic() + 3
        while second.subscriptions() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.subscriptions() == []
        assert len(second.filters()) == 1
    finally:
        second.close()
