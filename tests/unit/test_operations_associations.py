"""Association traversal at instance and class level, with every filter."""

import pytest
from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstanceName,
)

from tests.unit.model import NS, OTHER_NS, cim_status, guest_path, host_path
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.operations import Dispatcher
from virtcim.provider import InstanceProvider, ProviderRegistry


def keys(paths):
    return sorted(f"{p.namespace}:{p.classname}.{p['Name']}" for p in paths)


def test_associator_names_follow_links_across_namespaces(world):
    found = world.call("AssociatorNames", ObjectName=host_path("h2"))
    assert keys(found) == ["root/other:T_Guest.far", "root/test:T_Guest.gone",
                           "root/test:T_KVMGuest.k2"]
    assert all(p.host == "server.example" for p in found)


def test_associators_fetch_targets_and_skip_missing_ones(world):
    found = world.call("Associators", ObjectName=host_path("h2"))
    assert keys(i.path for i in found) == ["root/other:T_Guest.far", "root/test:T_KVMGuest.k2"]
    far = next(i for i in found if i["Name"] == "far")
    assert far["Memory"] == 512 and far.path.host == "server.example"


@pytest.mark.parametrize("operation", ["Associators", "AssociatorNames", "References",
                                       "ReferenceNames"])
@pytest.mark.parametrize("source", [
    guest_path("nobody"),
    CIMInstanceName("T_Guest", {"Nmae": "g1"}, namespace=NS),
], ids=["wrong value", "misspelt key"])
def test_traversal_from_an_object_that_does_not_exist_is_not_found(world, operation, source):
    with pytest.raises(CIMError) as exc:
        world.call(operation, ObjectName=source)
    assert cim_status(exc) == CIM_ERR_NOT_FOUND


def test_traversal_from_a_path_without_keys_is_invalid(world):
    with pytest.raises(CIMError) as exc:
        world.call("AssociatorNames", ObjectName=CIMInstanceName("T_Guest", namespace=NS))
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER
    assert "names no key" in exc.value.status_description


def test_keybindings_that_are_no_keys_are_ignored_as_get_instance_ignores_them(world):
    source = CIMInstanceName("T_Host", {"Name": "h1", "Memory": 512}, namespace=NS)
    assert world.call("GetInstance", InstanceName=source)["Name"] == "h1"
    assert keys(world.call("AssociatorNames", ObjectName=source)) == keys(
        world.call("AssociatorNames", ObjectName=host_path("h1")))
    assert len(world.call("ReferenceNames", ObjectName=source)) == 2


def test_associators_apply_property_list_and_class_origin(world):
    found = world.call("Associators", ObjectName=host_path("h1"), PropertyList=["Memory"],
                       IncludeClassOrigin=True)
    assert all(list(i.properties) == ["Memory"] for i in found)
    assert all(i.properties["Memory"].class_origin == "T_Guest" for i in found)


def test_result_class_is_subclass_inclusive_on_targets(world):
    kvm = world.call("AssociatorNames", ObjectName=host_path("h1"), ResultClass="T_KVMGuest")
    assert keys(kvm) == ["root/test:T_KVMGuest.k1"]
    every = world.call("AssociatorNames", ObjectName=host_path("h1"), ResultClass="T_Element")
    assert keys(every) == ["root/test:T_Guest.g1", "root/test:T_KVMGuest.k1"]


def test_role_and_result_role_pick_the_ends(world):
    g1 = guest_path("g1")
    assert keys(world.call("AssociatorNames", ObjectName=g1, Role="Dependent")) == [
        "root/test:T_Host.h1"]
    assert keys(world.call("AssociatorNames", ObjectName=g1, Role="left")) == [
        "root/test:T_KVMGuest.k1"]
    assert world.call("AssociatorNames", ObjectName=g1, Role="Right") == []
    assert keys(world.call("AssociatorNames", ObjectName=g1, ResultRole="Antecedent")) == [
        "root/test:T_Host.h1"]
    assert world.call("AssociatorNames", ObjectName=g1, Role="Dependent",
                      ResultRole="Right") == []


def test_assoc_class_filters_association_classes(world):
    g1 = guest_path("g1")
    assert keys(world.call("AssociatorNames", ObjectName=g1, AssocClass="T_Peer")) == [
        "root/test:T_KVMGuest.k1"]
    assert keys(world.call("AssociatorNames", ObjectName=g1, AssocClass="t_hosted")) == [
        "root/test:T_Host.h1"]


def test_associators_are_deduplicated(world):
    world.hosted.pairs.append((host_path("h1"), guest_path("g1")))
    assert keys(world.call("AssociatorNames", ObjectName=host_path("h1"))) == [
        "root/test:T_Guest.g1", "root/test:T_KVMGuest.k1"]


def test_references_and_reference_names(world):
    refs = world.call("References", ObjectName=guest_path("g1"))
    assert sorted(i.classname for i in refs) == ["T_Hosted", "T_Peer"]
    hosted = next(i for i in refs if i.classname == "T_Hosted")
    assert hosted["Antecedent"] == host_path("h1")
    assert hosted.path.host == "server.example" and hosted.path.namespace == NS
    names = world.call("ReferenceNames", ObjectName=guest_path("g1"), ResultClass="T_Peer")
    assert [n.classname for n in names] == ["T_Peer"]
    assert world.call("ReferenceNames", ObjectName=guest_path("g1"), Role="Right") == []
    assert len(world.call("ReferenceNames", ObjectName=guest_path("g1"), Role="Left")) == 1


def test_reference_property_list(world):
    refs = world.call("References", ObjectName=host_path("h1"), PropertyList=["Dependent"])
    assert all(list(i.properties) == ["Dependent"] for i in refs)
    assert len(refs) == 2


def test_links_from_plain_instance_providers_are_scanned(world):
    class PlainLinks(InstanceProvider):
        def enumerate_instances(self, ctx, classname, property_list):
            yield ctx.instance(classname, Left=guest_path("k2", "T_KVMGuest"),
                               Right=guest_path("g1"))

    registry = ProviderRegistry()
    registry.register(NS, ["T_Guest", "T_KVMGuest"], world.guests)
    registry.register(NS, ["T_Peer"], PlainLinks())
    dispatcher = Dispatcher(world.dispatcher.repository, registry)
    found = dispatcher.intrinsic(IntrinsicCall("1", "Associators", NS, {
        "ObjectName": guest_path("g1")}))
    assert keys(i.path for i in found) == ["root/test:T_KVMGuest.k2"]


def test_association_errors_are_invalid_parameter(world):
    for params in ({"ObjectName": CIMInstanceName("T_Nope", {"a": "b"})},
                   {"ObjectName": host_path("h1"), "AssocClass": "T_Nope"},
                   {"ObjectName": host_path("h1"), "ResultClass": "T_Nope"}):
        with pytest.raises(CIMError) as exc:
            world.call("AssociatorNames", **params)
        assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER
        # in the words of SFCB, libvirt-cim's broker, which its clients compare
        assert exc.value.status_description.startswith("CIM_ERR_INVALID_PARAMETER: ")
        assert "no class 'T_Nope'" in exc.value.status_description


def test_class_level_reference_names_and_references(world):
    names = world.call("ReferenceNames", ObjectName=CIMClassName("T_Guest"))
    assert sorted(n.classname for n in names) == ["T_Hosted", "T_Peer"]
    assert all(n.namespace == NS and n.host == "server.example" for n in names)
    classes = world.call("References", ObjectName="T_KVMGuest", Role="Dependent",
                         IncludeQualifiers=False)
    assert [c.classname for c in classes] == ["T_Hosted"]
    assert isinstance(classes[0], CIMClass) and not classes[0].qualifiers
    assert classes[0].path == CIMClassName("T_Hosted", namespace=NS, host="server.example")


def test_class_level_associators(world):
    names = world.call("AssociatorNames", ObjectName=CIMClassName("T_Host"))
    assert [n.classname for n in names] == ["T_Guest"]
    peers = world.call("AssociatorNames", ObjectName=CIMClassName("T_Guest"),
                       AssocClass="T_Peer")
    assert [n.classname for n in peers] == ["T_Guest"]
    assert world.call("AssociatorNames", ObjectName=CIMClassName("T_Guest"),
                      ResultClass="T_Host", ResultRole="Dependent") == []
    classes = world.call("Associators", ObjectName=CIMClassName("T_Guest"),
                         ResultClass="T_Element", PropertyList=["Name"])
    assert sorted(c.classname for c in classes) == ["T_Guest", "T_Host"]
    assert all(list(c.properties) == ["Name"] for c in classes)


def test_cross_namespace_source_is_taken_from_the_request(world):
    # The association lives in root/test; from root/other nothing serves it.
    assert world.call("AssociatorNames", namespace=OTHER_NS,
                      ObjectName=guest_path("far", namespace=OTHER_NS)) == []
