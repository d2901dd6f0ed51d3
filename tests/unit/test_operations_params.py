"""Intrinsic parameters: names, kinds, defaults, and unknown operations."""

import pytest
from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_SUPPORTED,
    CIMClassName,
    CIMError,
)

from tests.unit.model import cim_status, host_path


def test_unknown_operation_is_not_supported(world):
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateEverything")
    assert cim_status(exc) == CIM_ERR_NOT_SUPPORTED


def test_unknown_parameter_is_invalid_parameter_naming_it(world):
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateInstanceNames", ClassName="T_Host", Fast=True)
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER
    assert "Fast" in exc.value.status_description


def test_missing_required_parameter_is_invalid_parameter(world):
    with pytest.raises(CIMError) as exc:
        world.call("GetInstance")
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER
    assert "InstanceName" in exc.value.status_description


def test_parameter_names_match_case_insensitively(world):
    assert len(world.call("EnumerateInstanceNames", classname="T_Host")) == 2


def test_same_parameter_twice_is_invalid(world):
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateInstanceNames", ClassName="T_Host", CLASSNAME="T_Host")
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER


@pytest.mark.parametrize("operation, params", [
    ("EnumerateInstances", {"ClassName": "T_Host", "DeepInheritance": "yes"}),
    ("EnumerateInstances", {"ClassName": "T_Host", "PropertyList": "Name"}),
    ("EnumerateInstances", {"ClassName": 7}),
    ("GetInstance", {"InstanceName": "T_Host.Name=h1"}),
    ("CreateInstance", {"NewInstance": host_path("h1")}),
    ("PullInstancePaths", {"EnumerationContext": "x", "MaxObjectCount": True}),
    ("PullInstancePaths", {"EnumerationContext": "x", "MaxObjectCount": 2**32}),
])
def test_values_of_the_wrong_kind_are_invalid_parameter(world, operation, params):
    with pytest.raises(CIMError) as exc:
        world.call(operation, **params)
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER


def test_parameter_sent_without_value_takes_its_default(world):
    found = world.call("EnumerateInstances", ClassName="T_Host", PropertyList=None,
                       DeepInheritance=None)
    assert len(found) == 2 and "State" in found[0].properties


def test_class_name_may_come_as_a_class_path(world):
    assert len(world.call("EnumerateInstanceNames", ClassName=CIMClassName("T_Host"))) == 2
