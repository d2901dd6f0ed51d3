"""Instance operations routed to providers, and the shaping of what they return."""

import logging

import pytest
from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NO_SUCH_PROPERTY,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIM_ERR_TYPE_MISMATCH,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Uint16,
    Uint32,
)

from tests.unit.model import NS, cim_status, guest_path, host_path
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.operations import Dispatcher
from virtcim.provider import InstanceProvider, ProviderRegistry, RequestContext


def names(items):
    return sorted(str(item.path if isinstance(item, CIMInstance) else item).split(":", 1)[1]
                  for item in items)


def test_enumerate_instances_covers_subclasses_with_providers(world):
    found = world.call("EnumerateInstances", ClassName="T_Element")
    assert names(found) == ['T_Guest.Name="g1"', 'T_Host.Name="h1"', 'T_Host.Name="h2"',
                            'T_KVMGuest.Name="k1"', 'T_KVMGuest.Name="k2"']


def test_enumerated_instances_are_shaped_against_their_class(world):
    (g1,) = [i for i in world.call("EnumerateInstances", ClassName="T_Guest")
             if i["Name"] == "g1"]
    assert set(g1.properties) == {"Caption", "Name", "Memory"}
    assert g1.properties["Memory"].type == "uint32"
    assert isinstance(g1["Memory"], Uint32) and g1["Memory"] == 256
    assert g1["Caption"] is None
    assert g1.path == CIMInstanceName("T_Guest", {"Name": "g1"}, namespace=NS,
                                      host="server.example")


def test_missing_properties_take_the_class_default(world):
    h1 = world.call("GetInstance", InstanceName=host_path("h1"))
    assert h1["State"] == Uint16(2)
    assert h1.properties["Tags"].is_array and h1["Tags"] is None


def test_deep_inheritance_false_keeps_only_the_asked_class_properties(world):
    found = world.call("EnumerateInstances", ClassName="T_Guest", DeepInheritance=False)
    assert {i.classname for i in found} == {"T_Guest", "T_KVMGuest"}
    assert all(set(i.properties) == {"Caption", "Name", "Memory"} for i in found)
    deep = world.call("EnumerateInstances", ClassName="T_Guest")
    assert any("Emulator" in i.properties for i in deep)


def test_property_list_selects_properties_case_insensitively(world):
    found = world.call("EnumerateInstances", ClassName="T_Host",
                       PropertyList=["state", "NoSuchThing"])
    assert all(list(i.properties) == ["State"] for i in found)
    assert all(i.path.keybindings["Name"] for i in found)
    empty = world.call("EnumerateInstances", ClassName="T_Host", PropertyList=[])
    assert all(not i.properties for i in empty)


def test_include_class_origin_marks_each_property(world):
    (h1, _) = world.call("EnumerateInstances", ClassName="T_Host", IncludeClassOrigin=True)
    assert h1.properties["Caption"].class_origin == "T_Element"
    assert h1.properties["Name"].class_origin == "T_Host"
    plain = world.call("GetInstance", InstanceName=host_path("h1"))
    assert plain.properties["Name"].class_origin is None


def test_deprecated_instance_flags_are_accepted_and_ignored(world):
    inst = world.call("GetInstance", InstanceName=host_path("h1"), LocalOnly=True,
                      IncludeQualifiers=True)
    assert "Caption" in inst.properties
    assert not inst.properties["Name"].qualifiers


def test_enumerate_instance_names_reads_keys_when_providers_give_no_path(world):
    paths = world.call("EnumerateInstanceNames", ClassName="T_Guest")
    assert names(paths) == ['T_Guest.Name="g1"', 'T_KVMGuest.Name="k1"', 'T_KVMGuest.Name="k2"']
    assert all(p.host == "server.example" and p.namespace == NS for p in paths)


def test_enumerate_of_a_class_without_providers_is_empty(world):
    assert world.call("EnumerateInstances", ClassName="T_Setting") == []


def test_enumerate_errors(world):
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateInstances", ClassName="T_Nope")
    assert cim_status(exc) == CIM_ERR_INVALID_CLASS
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateInstanceNames", namespace="nope", ClassName="T_Host")
    assert cim_status(exc) == CIM_ERR_INVALID_NAMESPACE


def test_enumeration_is_lazy(world):
    started = []

    class Counting(InstanceProvider):
        def enumerate_instances(self, ctx, classname, property_list):
            for n in range(10**9):
                started.append(n)
                yield ctx.instance(classname, InstanceID=str(n))

    world.registry.register(NS, ["T_Setting"], Counting())
    result = world.dispatcher.intrinsic(
        IntrinsicCall("1", "EnumerateInstances", NS, {"ClassName": "T_Setting"}))
    assert started == []
    assert next(iter(result))["InstanceID"] == "0"
    assert started == [0]


def test_get_instance_found_and_not_found(world):
    inst = world.call("GetInstance", InstanceName=guest_path("k1", "T_KVMGuest"),
                      PropertyList=["Memory"])
    assert list(inst.properties) == ["Memory"] and inst["Memory"] == 1024
    with pytest.raises(CIMError) as exc:
        world.call("GetInstance", InstanceName=host_path("zz"))
    assert cim_status(exc) == CIM_ERR_NOT_FOUND
    assert "No such instance (Name)" in exc.value.status_description  # libvirt-cim's words


@pytest.mark.parametrize("made, answered", [("T_KVMGuest", "T_KVMGuest"),
                                            ("T_Host", "T_Guest")])
def test_get_instance_answers_a_subclass_instance_as_its_own_class(world, monkeypatch, made,
                                                                   answered):
    def get_instance(ctx, path, property_list):
        return CIMInstance(made, properties={"Name": path["Name"], "Emulator": "qemu"})

    monkeypatch.setattr(world.guests, "get_instance", get_instance)
    inst = world.call("GetInstance", InstanceName=guest_path("k1"))
    assert inst.classname == answered
    assert ("Emulator" in inst.properties) == (answered == "T_KVMGuest")  # its class's properties


def test_get_instance_of_class_without_provider_is_not_found(world):
    for path in (CIMInstanceName("T_Setting", {"InstanceID": "x"}, namespace=NS),
                 CIMInstanceName("T_Element", {"Name": "x"}, namespace=NS)):
        with pytest.raises(CIMError) as exc:
            world.call("GetInstance", InstanceName=path)
        assert cim_status(exc) == CIM_ERR_NOT_FOUND


def test_get_instance_of_unknown_class_is_invalid_class(world):
    with pytest.raises(CIMError) as exc:
        world.call("GetInstance", InstanceName=CIMInstanceName("T_Nope", {"a": "b"}))
    assert cim_status(exc) == CIM_ERR_INVALID_CLASS


def test_create_instance_types_properties_and_returns_full_path(world):
    new = CIMInstance("t_host", properties={"name": "h3", "State": Uint16(3)})
    path = world.call("CreateInstance", NewInstance=new)
    assert path == CIMInstanceName("T_Host", {"Name": "h3"}, namespace=NS, host="server.example")
    assert world.call("GetInstance", InstanceName=host_path("h3"))["State"] == 3
    with pytest.raises(CIMError) as exc:
        world.call("CreateInstance", NewInstance=new)
    assert cim_status(exc) == CIM_ERR_ALREADY_EXISTS


@pytest.mark.parametrize("props, code", [
    ({"Name": "h9", "Bogus": "x"}, CIM_ERR_INVALID_PARAMETER),
    ({"Name": "h9", "State": "high"}, CIM_ERR_INVALID_PARAMETER),
])
def test_create_instance_rejects_bad_properties(world, props, code):
    with pytest.raises(CIMError) as exc:
        world.call("CreateInstance", NewInstance=CIMInstance("T_Host", properties=props))
    assert cim_status(exc) == code


def test_create_instance_without_provider_is_not_supported(world):
    new = CIMInstance("T_Setting", properties={"InstanceID": "s"})
    with pytest.raises(CIMError) as exc:
        world.call("CreateInstance", NewInstance=new)
    assert cim_status(exc) == CIM_ERR_NOT_SUPPORTED


def test_modify_instance_passes_typed_values_and_property_list(world):
    changed = CIMInstance("T_Host", properties={"Name": "h1", "State": Uint16(3),
                                                "Caption": "big"}, path=host_path("h1"))
    world.call("ModifyInstance", ModifiedInstance=changed, PropertyList=["state"])
    h1 = world.call("GetInstance", InstanceName=host_path("h1"))
    assert h1["State"] == 3 and h1["Caption"] is None


def test_modify_instance_errors(world):
    with pytest.raises(CIMError) as exc:
        world.call("ModifyInstance", ModifiedInstance=CIMInstance("T_Host"))
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER
    nowhere = CIMInstance("T_Host", properties={"Name": "zz"}, path=host_path("zz"))
    with pytest.raises(CIMError) as exc:
        world.call("ModifyInstance", ModifiedInstance=nowhere)
    assert cim_status(exc) == CIM_ERR_NOT_FOUND
    h1 = CIMInstance("T_Host", properties={"Name": "h1"}, path=host_path("h1"))
    with pytest.raises(CIMError) as exc:
        world.call("ModifyInstance", ModifiedInstance=h1, PropertyList=["Bogus"])
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER


def test_delete_instance(world):
    world.call("DeleteInstance", InstanceName=host_path("h2"))
    assert names(world.call("EnumerateInstanceNames", ClassName="T_Host")) == ['T_Host.Name="h1"']
    with pytest.raises(CIMError) as exc:
        world.call("DeleteInstance", InstanceName=host_path("h2"))
    assert cim_status(exc) == CIM_ERR_NOT_FOUND


def test_get_and_set_property(world):
    assert world.call("GetProperty", InstanceName=host_path("h1"), PropertyName="state") == 2
    world.call("SetProperty", InstanceName=host_path("h1"), PropertyName="State", NewValue="3")
    assert world.call("GetProperty", InstanceName=host_path("h1"), PropertyName="State") == 3


def test_property_errors(world):
    with pytest.raises(CIMError) as exc:
        world.call("GetProperty", InstanceName=host_path("h1"), PropertyName="Bogus")
    assert cim_status(exc) == CIM_ERR_NO_SUCH_PROPERTY
    with pytest.raises(CIMError) as exc:
        world.call("SetProperty", InstanceName=host_path("h1"), PropertyName="Bogus",
                   NewValue="1")
    assert cim_status(exc) == CIM_ERR_NO_SUCH_PROPERTY
    with pytest.raises(CIMError) as exc:
        world.call("SetProperty", InstanceName=host_path("h1"), PropertyName="State",
                   NewValue="loud")
    assert cim_status(exc) == CIM_ERR_TYPE_MISMATCH


class Broken(InstanceProvider):
    def __init__(self, failure):
        self.failure = failure

    def enumerate_instances(self, ctx, classname, property_list):
        yield ctx.instance(classname, InstanceID="first")
        raise self.failure


def test_provider_crash_is_failed_naming_the_class_without_traceback(world, caplog):
    world.registry.register(NS, ["T_Setting"], Broken(KeyError("disk0")))
    result = world.dispatcher.intrinsic(
        IntrinsicCall("1", "EnumerateInstances", NS, {"ClassName": "T_Setting"}))
    with caplog.at_level(logging.ERROR), pytest.raises(CIMError) as exc:
        list(result)
    assert cim_status(exc) == CIM_ERR_FAILED
    assert "T_Setting" in exc.value.status_description
    assert "disk0" in exc.value.status_description
    assert "Traceback" not in exc.value.status_description
    assert any(record.exc_info for record in caplog.records)


def test_provider_cim_error_passes_through(world):
    world.registry.register(NS, ["T_Setting"], Broken(CIMError(CIM_ERR_ACCESS, "no")))
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateInstances", ClassName="T_Setting")
    assert cim_status(exc) == CIM_ERR_ACCESS


CIM_ERR_ACCESS = 2


class Sloppy(InstanceProvider):
    def __init__(self, values):
        self.values = values

    def enumerate_instances(self, ctx, classname, property_list):
        inst = CIMInstance(classname, properties=self.values)
        yield inst


def test_undeclared_provider_properties_are_dropped_with_one_warning(world, caplog):
    sloppy = Sloppy({"InstanceID": "s", "Secret": "x"})
    world.registry.register(NS, ["T_Setting"], sloppy)
    with caplog.at_level(logging.WARNING):
        first = world.call("EnumerateInstances", ClassName="T_Setting")
        world.call("EnumerateInstances", ClassName="T_Setting")
    assert "Secret" not in first[0].properties
    assert sum("Secret" in record.getMessage() for record in caplog.records) == 1


def test_provider_value_of_wrong_type_is_failed(world):
    world.registry.register(NS, ["T_Setting"], Sloppy(
        {"InstanceID": "s", "Size": CIMProperty("Size", "big", type="string")}))
    with pytest.raises(CIMError) as exc:
        world.call("EnumerateInstances", ClassName="T_Setting")
    assert cim_status(exc) == CIM_ERR_FAILED
    assert "Size" in exc.value.status_description


class OneWalk(InstanceProvider):
    """T_Guest and T_KVMGuest found on one walk, interleaved, kept between requests."""

    def __init__(self):
        self.asked = []
        self.kept = {}

    def enumerate_instances(self, ctx, classname, property_list):
        return self.enumerate_instances_of(ctx, [classname], property_list)

    def enumerate_instances_of(self, ctx, classnames, property_list):
        self.asked.append(list(classnames))
        for name, classname in [("k1", "T_KVMGuest"), ("g1", "T_Guest"), ("k2", "T_KVMGuest")]:
            if classname in classnames:
                if name not in self.kept:
                    extra = {"Emulator": "qemu"} if classname == "T_KVMGuest" else {}
                    self.kept[name] = ctx.shared_instance(classname, Name=name, **extra)
                yield self.kept[name]


@pytest.fixture
def guests_served_by(model_repository):
    """A dispatcher whose only provider, for T_Guest and T_KVMGuest, is the one given."""
    made = []

    def serve(provider):
        registry = ProviderRegistry()
        registry.register(NS, ["T_Guest", "T_KVMGuest"], provider)
        made.append(Dispatcher(model_repository, registry, host="server.example"))
        return lambda classname: list(made[-1].intrinsic(
            IntrinsicCall("1", "EnumerateInstances", NS, {"ClassName": classname})))

    yield serve
    for dispatcher in made:
        dispatcher.close()


def test_a_deep_enumeration_asks_a_provider_once_for_all_its_classes(guests_served_by):
    one_walk = OneWalk()
    found = guests_served_by(one_walk)("T_Element")
    assert one_walk.asked == [["T_Guest", "T_KVMGuest"]]
    assert [(i.classname, i["Name"]) for i in found] == [
        ("T_KVMGuest", "k1"), ("T_Guest", "g1"), ("T_KVMGuest", "k2")]
    k1, g1, _ = found
    assert k1["Emulator"] == "qemu" and k1["Memory"] == 1024
    assert k1.path.classname == "T_KVMGuest"
    assert "Emulator" not in g1.properties and g1["Memory"] == 512


def test_shared_instances_are_shaped_once_for_single_and_deep_enumerations(guests_served_by):
    one_walk = OneWalk()
    enumerate_instances = guests_served_by(one_walk)
    alone = enumerate_instances("T_KVMGuest")[0]
    assert len(one_walk.kept["k1"].shaped) == 1
    for _ in range(2):
        assert enumerate_instances("T_Guest")[0] is alone
    assert len(one_walk.kept["k1"].shaped) == 2  # by its class's plan, and the family's


def test_an_instance_of_a_class_not_asked_for_is_failed(guests_served_by):
    class Stray(OneWalk):
        def enumerate_instances_of(self, ctx, classnames, property_list):
            yield ctx.instance("T_Host", Name="h9")

    with pytest.raises(CIMError) as exc:
        guests_served_by(Stray())("T_Guest")
    assert cim_status(exc) == CIM_ERR_FAILED
    assert "T_KVMGuest" in exc.value.status_description
    assert "T_Host" in exc.value.status_description


def test_cimom_lets_providers_reach_other_namespaces(world):
    ctx = RequestContext(NS, world.dispatcher.repository, world.dispatcher, "alice")
    far = world.dispatcher.get_instance(ctx, guest_path("far", namespace="root/other"))
    assert far.path.namespace == "root/other"
    assert [p["Name"] for p in world.dispatcher.enumerate_instance_names(
        ctx, "root/other", "T_Guest")] == ["far"]
    assert len(list(world.dispatcher.enumerate_instances(ctx, NS, "T_Host"))) == 2


def test_a_request_memo_is_made_once_and_shared_with_other_namespaces(world):
    ctx = RequestContext(NS, world.dispatcher.repository, world.dispatcher, "alice")
    made = []
    listing = ctx.memo("listing", lambda: made.append(1) or ["guest"])
    elsewhere = ctx.within("root/other")
    assert elsewhere.namespace == "root/other" and elsewhere.user == "alice"
    assert elsewhere.memo("listing", list) is listing
    assert ctx.memo("listing", list) is listing and made == [1]
    fresh = RequestContext(NS, world.dispatcher.repository, world.dispatcher, "alice")
    assert fresh.memo("listing", list) == []
