"""The network filter classes on libvirt's test driver, which has no network filters.

Everything about real filters (reading them, creating and deleting filters and their
links) is in tests/libvirtd/test_filters_qemu.py, against a daemon that has them.
"""

from __future__ import annotations

import pytest
from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Sint16,
)

from providers.classes import VIRT_NAMESPACE
from tests.providers.conftest import Cim

FILTER_CLASSES = [
    "Test_FilterList", "Test_FilterEntry", "Test_IPHeadersFilter", "Test_Hdr8021Filter",
    "Test_EntriesInFilterList", "Test_HostedFilterList", "Test_NestedFilterList",
    "Test_AppliedFilterList",
]


def filter_list(cim: Cim, name: str) -> CIMInstanceName:
    return CIMInstanceName("Test_FilterList", {
        "SystemCreationClassName": "Test_HostSystem", "SystemName": cim.hypervisor.hostname,
        "CreationClassName": "Test_FilterList", "Name": name}, namespace=VIRT_NAMESPACE)


@pytest.mark.parametrize("classname", [*FILTER_CLASSES, "CIM_FilterEntryBase"])
def test_a_driver_without_network_filters_has_no_instances(cim: Cim, classname: str):
    assert cim.enumerate(classname) == []


def test_a_filter_of_a_driver_without_network_filters_is_not_found(cim: Cim):
    with pytest.raises(CIMError) as error:
        cim.get(filter_list(cim, "clean-traffic"))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert cim.associators(cim.guest("test"), AssocClass="Test_AppliedFilterList") == []


def test_creating_a_filter_where_the_driver_has_none_is_refused_by_libvirt(cim: Cim):
    with pytest.raises(CIMError) as error:
        cim.call("CreateInstance", NewInstance=CIMInstance("Test_FilterList", {"Name": "f1"}))
    assert error.value.status_code == CIM_ERR_NOT_SUPPORTED
    assert "network filter 'f1' on test:///default" in error.value.status_description


@pytest.mark.parametrize("name", ["", "  ", "a/b", "tab\there", "x" * 257])
def test_a_filter_name_libvirt_could_not_keep_is_refused_before_libvirt(cim: Cim, name: str):
    with pytest.raises(CIMError) as error:
        cim.call("CreateInstance", NewInstance=CIMInstance("Test_FilterList", {"Name": name}))
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER


def test_a_priority_outside_libvirts_range_is_refused(cim: Cim):
    instance = CIMInstance("Test_FilterList", {"Name": "f1"})
    instance["Priority"] = Sint16(1001)
    with pytest.raises(CIMError) as error:
        cim.call("CreateInstance", NewInstance=instance)
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "-1000 to 1000" in error.value.status_description


def test_a_link_to_a_filter_that_does_not_exist_is_refused(cim: Cim):
    link = CIMInstance("Test_NestedFilterList", {
        "Antecedent": filter_list(cim, "a"), "Dependent": filter_list(cim, "b")})
    with pytest.raises(CIMError) as error:
        cim.call("CreateInstance", NewInstance=link)
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "names no filter list" in error.value.status_description
