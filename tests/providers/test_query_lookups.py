"""Queries over the guests of libvirt's test driver: a guest asked for by its key is
looked up, not listed."""

from __future__ import annotations

import pytest
from pywbem import CIMClassName

from providers.classes import VIRT_NAMESPACE
from virtcim.cimxml.messages import IntrinsicCall


@pytest.fixture
def no_listing(cim, monkeypatch):
    """Fail any listing of every guest: what a lookup by key must not need."""

    def refuse():
        raise AssertionError("the query listed every guest")

    monkeypatch.setattr(cim.hypervisor, "listing", refuse)
    monkeypatch.setattr(cim.hypervisor, "domains", refuse)


@pytest.mark.parametrize("query, classname, expected", [
    ("SELECT * FROM Test_ComputerSystem WHERE Name = 'test'", "Test_ComputerSystem", ["test"]),
    ("SELECT Name FROM Test_ComputerSystem WHERE Name = 'nobody'", "Test_ComputerSystem", []),
    ("SELECT * FROM Test_ComputerSystem WHERE Name = 'test' AND EnabledState = 2",
     "Test_ComputerSystem", ["test"]),
    ("SELECT * FROM Test_ComputerSystem WHERE Name = 'test' AND EnabledState = 3",
     "Test_ComputerSystem", []),
    ("SELECT * FROM Test_ComputerSystem WHERE Name = 'test' OR Name = 'other'",
     "Test_ComputerSystem", ["test"]),
    ("SELECT * FROM Test_VirtualSystemSettingData WHERE InstanceID = 'Test:test'",
     "Test_VirtualSystemSettingData", ["Test:test"]),
    ("SELECT * FROM Test_VirtualSystemSettingData WHERE InstanceID = 'KVM:test'",
     "Test_VirtualSystemSettingData", []),
    ("SELECT * FROM Test_VirtualSystemSettingData WHERE InstanceID = 'no colon'",
     "Test_VirtualSystemSettingData", []),
    ("SELECT * FROM Test_EnabledLogicalElementCapabilities WHERE InstanceID = 'test'",
     "Test_EnabledLogicalElementCapabilities", ["test"]),
])
def test_a_guest_named_by_its_key_is_looked_up(cim, no_listing, query, classname, expected):
    found = cim.call("ExecQuery", QueryLanguage="DMTF:CQL", Query=query)
    key = "InstanceID" if "InstanceID" in query else "Name"
    assert [inst.path[key] for inst in found] == expected
    assert all(inst.classname == classname for inst in found)


def test_other_conditions_list_every_guest(cim, define_guest):
    define_guest("query-off")
    found = cim.call("ExecQuery", QueryLanguage="WQL",
                     Query="SELECT Name FROM Test_ComputerSystem WHERE EnabledState = 3")
    assert "query-off" in [inst["Name"] for inst in found]
    assert "test" not in [inst["Name"] for inst in found]


def test_filtered_pull_of_the_generic_class_looks_up_the_guest(cim, no_listing):
    """CIM_ComputerSystem reaches the host too, which has no lookup and is listed
    (one per hypervisor, no guest listing); the guest is looked up."""
    result = cim.dispatcher.intrinsic(IntrinsicCall("1", "OpenEnumerateInstances", VIRT_NAMESPACE, {
        "ClassName": CIMClassName("CIM_ComputerSystem"), "FilterQueryLanguage": "DMTF:FQL",
        "FilterQuery": "Name = 'test'", "MaxObjectCount": 10}))
    assert result.end_of_sequence
    assert [(inst.classname, inst["Name"]) for inst in result.items] == [
        ("Test_ComputerSystem", "test")]
