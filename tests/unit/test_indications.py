"""What becomes an indication, decided without I/O: the settings a change made, the filters
that want them."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance, CIMInstanceName, Uint64

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


def subscribe(broker: IndicationBroker, query: str) -> None:
    values = broker.create_filter(CIMInstance("CIM_IndicationFilter", properties={
        "Name": query, "Query": query, "QueryLanguage": "DMTF:CQL"}))
    destination = broker.create_destination(CIMInstance(
        "CIM_ListenerDestinationCIMXML",
        properties={"Name": query, "Destination": "http://127.0.0.1:9/"}))
    broker.create_subscription(CIMInstance("CIM_IndicationSubscription", properties={
        "Filter": CIMInstanceName(
            "CIM_IndicationFilter", {"Name": values["Name"]}),
        "Handler": CIMInstanceName(
            "CIM_ListenerDestinationCIMXML", {"Name": destination["Name"]})}))


@pytest.mark.parametrize(("query", "selected"), [
    ("SELECT * FROM KVM_ResourceAllocationSettingDataCreatedIndication", True),
    ("SELECT * FROM CIM_InstCreation", True),
    ("SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ComputerSystem", True),
    ("SELECT * FROM KVM_ComputerSystemCreatedIndication", False),
    ("SELECT * FROM CIM_InstDeletion", False),
])
def test_a_producer_learns_whether_a_filter_selects_its_classes(broker, query, selected):
    classes = ["KVM_ResourceAllocationSettingDataCreatedIndication"]
    assert not broker.selects(classes)
    subscribe(broker, query)
    assert broker.selects(classes) is selected
