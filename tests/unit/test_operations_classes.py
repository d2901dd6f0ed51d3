"""Class and qualifier operations answered from the repository."""

import pytest
from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMClass,
    CIMError,
)

from tests.unit.model import cim_status


def test_get_class_is_local_only_with_qualifiers_by_default(world):
    cls = world.call("GetClass", ClassName="t_kvmguest")
    assert cls.classname == "T_KVMGuest"
    assert set(cls.properties) == {"Emulator"}
    assert cls.methods == {}


def test_get_class_local_only_false_gives_inherited_members(world):
    cls = world.call("GetClass", ClassName="T_KVMGuest", LocalOnly=False)
    assert set(cls.properties) == {"Caption", "Name", "Memory", "Emulator"}
    assert set(cls.methods) == {"Start", "Stop", "Create"}
    assert cls.properties["Memory"].value == 1024
    assert cls.properties["Name"].qualifiers["Key"].value is True


def test_get_class_without_qualifiers_strips_them_everywhere(world):
    cls = world.call("GetClass", ClassName="T_Guest", LocalOnly=False, IncludeQualifiers=False)
    assert not cls.qualifiers
    assert all(not prop.qualifiers for prop in cls.properties.values())
    assert all(not param.qualifiers for meth in cls.methods.values()
               for param in meth.parameters.values())


def test_get_class_class_origin_only_when_asked(world):
    plain = world.call("GetClass", ClassName="T_Guest", LocalOnly=False)
    origin = world.call("GetClass", ClassName="T_Guest", LocalOnly=False,
                        IncludeClassOrigin=True)
    assert plain.properties["Caption"].class_origin is None
    assert origin.properties["Caption"].class_origin == "T_Element"
    assert origin.methods["Start"].class_origin == "T_Guest"


def test_get_class_property_list_filters_properties_not_methods(world):
    cls = world.call("GetClass", ClassName="T_Guest", LocalOnly=False,
                     PropertyList=["name", "Nonexistent"])
    assert set(cls.properties) == {"Name"}
    assert "Start" in cls.methods
    empty = world.call("GetClass", ClassName="T_Guest", LocalOnly=False, PropertyList=[])
    assert not empty.properties


def test_get_class_returns_a_copy(world, model_repository):
    cls = world.call("GetClass", ClassName="T_Host", LocalOnly=False)
    cls.properties["Name"].qualifiers.clear()
    assert model_repository.get_class("root/test", "T_Host").properties["Name"].qualifiers


def test_get_class_errors(world):
    with pytest.raises(CIMError) as exc:
        world.call("GetClass", ClassName="T_Nope")
    assert cim_status(exc) == CIM_ERR_NOT_FOUND
    with pytest.raises(CIMError) as exc:
        world.call("GetClass", namespace="root/nope", ClassName="T_Host")
    assert cim_status(exc) == CIM_ERR_INVALID_NAMESPACE
    with pytest.raises(CIMError) as exc:
        world.call("GetClass")
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER


def test_namespace_alias_and_slashes_are_accepted(world):
    assert world.call("GetClass", namespace="/TEST/", ClassName="T_Host").classname == "T_Host"


def test_enumerate_class_names_shallow_and_deep(world):
    roots = set(world.call("EnumerateClassNames"))
    assert roots == {"T_Element", "T_Setting", "T_Hosted", "T_Peer"}
    assert set(world.call("EnumerateClassNames", ClassName="T_Element")) == {"T_Host", "T_Guest"}
    assert set(world.call("EnumerateClassNames", ClassName="T_Element",
                          DeepInheritance=True)) == {"T_Host", "T_Guest", "T_KVMGuest"}
    assert len(world.call("EnumerateClassNames", DeepInheritance=True)) == 7


def test_enumerate_classes_applies_flags(world):
    classes = world.call("EnumerateClasses", ClassName="T_Guest", LocalOnly=False,
                         IncludeQualifiers=False, IncludeClassOrigin=True)
    assert [cls.classname for cls in classes] == ["T_KVMGuest"]
    assert all(isinstance(cls, CIMClass) for cls in classes)
    assert classes[0].properties["Name"].class_origin == "T_Guest"
    assert not classes[0].properties["Name"].qualifiers


def test_enumerate_classes_of_unknown_class_is_invalid_class(world):
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateClasses", ClassName="T_Nope")
    assert cim_status(exc) == CIM_ERR_INVALID_CLASS


def test_qualifier_operations(world):
    decl = world.call("GetQualifier", QualifierName="key")
    assert decl.name == "Key" and decl.type == "boolean"
    names = {q.name for q in world.call("EnumerateQualifiers")}
    assert {"Key", "Association", "EmbeddedInstance", "Override"} <= names
    with pytest.raises(CIMError) as exc:
        world.call("GetQualifier", QualifierName="Nope")
    assert cim_status(exc) == CIM_ERR_NOT_FOUND


@pytest.mark.parametrize("operation, params", [
    ("CreateClass", {"NewClass": CIMClass("T_New")}),
    ("ModifyClass", {"ModifiedClass": CIMClass("T_Host")}),
    ("DeleteClass", {"ClassName": "T_Host"}),
    ("SetQualifier", {"QualifierDeclaration": "x"}),
    ("DeleteQualifier", {"QualifierName": "Key"}),
])
def test_schema_changes_are_not_supported(world, operation, params):
    with pytest.raises(CIMError) as exc:
        world.call(operation, **params)
    assert cim_status(exc) == CIM_ERR_NOT_SUPPORTED
