"""ExecQuery, OpenQueryInstances and FilterQuery in the operations layer, over the small model."""

from __future__ import annotations

import pytest
from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_INVALID_QUERY,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    CIMClass,
    CIMError,
    CIMInstance,
)

from tests.unit.model import NS, World, cim_status, guest_path, host_path
from virtcim.provider import InstanceProvider


def names(items):
    return sorted(item["Name"] if isinstance(item, CIMInstance) else item["Name"]
                  for item in items)


def test_exec_query_selects_projects_and_keeps_paths(world):
    found = world.call("ExecQuery", QueryLanguage="WQL",
                       Query="SELECT Name FROM T_Guest WHERE Name LIKE 'k%' AND Memory = 256")
    assert names(found) == ["k1", "k2"]
    assert all(list(inst.properties) == ["Name"] for inst in found)
    assert {inst.path.host for inst in found} == {"server.example"}
    assert {inst.path.namespace for inst in found} == {NS}


def test_exec_query_with_cql_order_and_isa(world):
    found = world.call("ExecQuery", QueryLanguage="DMTF:CQL",
                       Query="SELECT * FROM T_Element AS e WHERE e ISA T_Guest "
                             "ORDER BY T_Guest::Name DESC")
    assert [inst["Name"] for inst in found] == ["k2", "k1", "g1"]


def test_exec_query_sees_class_defaults_and_nulls(world):
    found = world.call("ExecQuery", QueryLanguage="WQL",
                       Query="SELECT * FROM T_Host WHERE State = 2 AND Caption IS NULL")
    assert names(found) == ["h1", "h2"]
    assert world.call("ExecQuery", QueryLanguage="WQL",
                      Query="SELECT * FROM T_Host WHERE Caption = 'x' OR Caption <> 'x'") == []


@pytest.mark.parametrize("language, query, code", [
    ("WQL", "SELECT * FROM", CIM_ERR_INVALID_QUERY),
    ("WQL", "SELECT * FROM T_Nothing", CIM_ERR_INVALID_QUERY),
    ("WQL", "SELECT * FROM T_Host WHERE Memory = 1", CIM_ERR_INVALID_QUERY),
    ("DMTF:CQL", "SELECT * FROM T_Host WHERE State = 'x'", CIM_ERR_INVALID_QUERY),
    ("DMTF:FQL", "Name = 'h1'", CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED),
    ("SQL", "SELECT * FROM T_Host", CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED),
])
def test_exec_query_errors(world, language, query, code):
    with pytest.raises(CIMError) as exc:
        world.call("ExecQuery", QueryLanguage=language, Query=query)
    assert cim_status(exc) == code


def test_open_query_instances_pages_without_paths_and_describes_the_result(world):
    first = world.call("OpenQueryInstances", FilterQueryLanguage="DMTF:CQL",
                       FilterQuery="SELECT Name, Memory FROM T_Guest", MaxObjectCount=1,
                       ReturnQueryResultClass=True)
    assert len(first.items) == 1 and not first.end_of_sequence
    result_class = first.query_result_class
    assert isinstance(result_class, CIMClass) and result_class.classname == "T_Guest"
    assert list(result_class.properties) == ["Name", "Memory"] and not result_class.methods
    rest = world.call("PullInstances", EnumerationContext=first.context, MaxObjectCount=5)
    assert rest.end_of_sequence and rest.query_result_class is None
    found = first.items + rest.items
    assert names(found) == ["g1", "k1", "k2"]
    assert all(list(inst.properties) == ["Name", "Memory"] for inst in found)


def test_open_query_instances_without_result_class(world):
    first = world.call("OpenQueryInstances", FilterQueryLanguage="WQL",
                       FilterQuery="SELECT * FROM T_Host WHERE Name = 'h2'", MaxObjectCount=9)
    assert names(first.items) == ["h2"] and first.query_result_class is None


def test_open_query_instances_refuses_fql(world):
    with pytest.raises(CIMError) as exc:
        world.call("OpenQueryInstances", FilterQueryLanguage="DMTF:FQL", FilterQuery="Name = 'x'")
    assert cim_status(exc) == CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED
    assert world.dispatcher.open_enumerations == 0


def test_filtered_enumeration_tests_whole_instances_and_shows_the_property_list(world):
    first = world.call("OpenEnumerateInstances", ClassName="T_Guest", PropertyList=["Name"],
                       FilterQueryLanguage="DMTF:FQL",
                       FilterQuery="Memory = 256 AND Name <> 'g1'", MaxObjectCount=1)
    found = first.items + world.call("PullInstancesWithPath", EnumerationContext=first.context,
                                     MaxObjectCount=5).items
    assert names(found) == ["k1", "k2"]
    assert all(list(inst.properties) == ["Name"] for inst in found)


def test_filtered_enumeration_keeps_deep_inheritance_false(world):
    first = world.call("OpenEnumerateInstances", ClassName="T_Guest", DeepInheritance=False,
                       FilterQueryLanguage="DMTF:FQL", FilterQuery="Name <> 'g1'",
                       MaxObjectCount=9)
    assert names(first.items) == ["k1", "k2"]
    assert all("Emulator" not in inst.properties for inst in first.items)


def test_filtered_enumeration_of_paths(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Guest",
                       FilterQueryLanguage="DMTF:FQL", FilterQuery="Name LIKE 'k.*'",
                       MaxObjectCount=9)
    assert names(first.items) == ["k1", "k2"]
    assert {path.host for path in first.items} == {"server.example"}


def test_filtered_associators_and_references(world):
    assoc = world.call("OpenAssociatorInstances", InstanceName=host_path("h2"),
                       FilterQueryLanguage="DMTF:FQL", FilterQuery="Name = 'far'",
                       MaxObjectCount=9)
    assert names(assoc.items) == ["far"] and assoc.items[0].path.namespace == "root/other"
    assoc_paths = world.call("OpenAssociatorInstancePaths", InstanceName=host_path("h2"),
                             ResultClass="T_KVMGuest", FilterQueryLanguage="DMTF:FQL",
                             FilterQuery="Emulator IS NULL", MaxObjectCount=9)
    assert names(assoc_paths.items) == ["k2"]
    refs = world.call("OpenReferenceInstances", InstanceName=host_path("h1"),
                      PropertyList=["Antecedent"], FilterQueryLanguage="DMTF:FQL",
                      FilterQuery="Dependent = 'T_KVMGuest.Name=\"k1\"'", MaxObjectCount=9)
    assert len(refs.items) == 1 and list(refs.items[0].properties) == ["Antecedent"]
    ref_paths = world.call("OpenReferenceInstancePaths", InstanceName=host_path("h1"),
                           ResultClass="T_Hosted", FilterQueryLanguage="DMTF:FQL",
                           FilterQuery="Dependent ISA T_KVMGuest", MaxObjectCount=9)
    assert [p["Dependent"] for p in ref_paths.items] == [guest_path("k1", "T_KVMGuest")]


@pytest.mark.parametrize("operation, params, code", [
    ("OpenEnumerateInstances", {"ClassName": "T_Host", "FilterQueryLanguage": "DMTF:FQL",
                                "FilterQuery": "Nothing = 1"}, CIM_ERR_INVALID_QUERY),
    ("OpenEnumerateInstancePaths", {"ClassName": "T_Host", "FilterQueryLanguage": "DMTF:FQL",
                                    "FilterQuery": "Name ="}, CIM_ERR_INVALID_QUERY),
    ("OpenAssociatorInstances", {"InstanceName": host_path("h1"), "ResultClass": "T_Guest",
                                 "FilterQueryLanguage": "DMTF:FQL", "FilterQuery": "State = 2"},
     CIM_ERR_INVALID_QUERY),
    ("OpenReferenceInstances", {"InstanceName": host_path("h1"),
                                "FilterQueryLanguage": "DMTF:CQL",
                                "FilterQuery": "SELECT * FROM T_Hosted"},
     CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED),
    ("OpenEnumerateInstances", {"ClassName": "T_Host", "FilterQueryLanguage": "DMTF:FQL"},
     CIM_ERR_INVALID_PARAMETER),
])
def test_filter_errors_open_nothing(world, operation, params, code):
    with pytest.raises(CIMError) as exc:
        world.call(operation, **params)
    assert cim_status(exc) == code
    assert world.dispatcher.open_enumerations == 0


class LookingUp(InstanceProvider):
    """T_Host by name: records whether it was asked to list or to look up."""

    lookup_properties = frozenset({"name"})

    def __init__(self):
        self.hosts = ["h1", "h2", "h3"]
        self.asked = []

    def enumerate_instances(self, ctx, classname, property_list):
        self.asked.append("list")
        for name in self.hosts:
            yield ctx.instance(classname, Name=name)

    def enumerate_where(self, ctx, classnames, property_list, values):
        self.asked.append(("lookup", dict(values)))
        for name in sorted(values["name"]):
            if name in self.hosts:
                yield ctx.instance(classnames[0], Name=name)
        yield ctx.instance(classnames[0], Name="h3")  # more than asked for: filtered anyway


@pytest.fixture
def looking_up(model_repository):
    built = World(model_repository)
    provider = LookingUp()
    built.registry._providers[(NS.lower(), "t_host")] = provider
    yield built, provider
    built.dispatcher.close()


@pytest.mark.parametrize("condition, asked, found", [
    ("Name = 'h2'", ("lookup", {"name": frozenset({"h2"})}), ["h2"]),
    ("Name = 'h1' OR Name = 'h2'", ("lookup", {"name": frozenset({"h1", "h2"})}), ["h1", "h2"]),
    ("Name = 'h2' AND State = 3", ("lookup", {"name": frozenset({"h2"})}), []),
    ("Name = 'nothing'", ("lookup", {"name": frozenset({"nothing"})}), []),
    ("Name <> 'h2'", "list", ["h1", "h3"]),
    ("State = 2", "list", ["h1", "h2", "h3"]),
])
def test_providers_look_up_what_the_query_asks_for(looking_up, condition, asked, found):
    world, provider = looking_up
    result = world.call("ExecQuery", QueryLanguage="WQL",
                        Query=f"SELECT * FROM T_Host WHERE {condition}")
    assert names(result) == found
    assert provider.asked == [asked]
    provider.asked.clear()
    pulled = world.call("OpenEnumerateInstances", ClassName="T_Host", MaxObjectCount=9,
                        FilterQueryLanguage="DMTF:FQL", FilterQuery=condition)
    assert names(pulled.items) == found and provider.asked == [asked]
