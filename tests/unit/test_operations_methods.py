"""InvokeMethod: declarations, typing of inputs and outputs, routing."""

import pytest
from pywbem import (
    CIM_ERR_ACCESS_DENIED,
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_AVAILABLE,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Uint16,
    Uint32,
)

from tests.unit.model import NS, GuestProvider, cim_status, guest_path, host_path
from virtcim.cimxml.messages import ExtrinsicCall
from virtcim.operations import Dispatcher
from virtcim.operations.errors import method_errors
from virtcim.provider import ProviderRegistry, UnsupportedMethod, cim_method


def test_inputs_are_typed_by_the_declaration(world):
    setting = CIMInstance("T_Setting", properties={"InstanceID": "s1", "Size": "4096",
                                                   "Enabled": "true"})
    result = world.invoke(guest_path("g1"), "start", delay="5", Where=host_path("h1"),
                          Setting=setting, Echo="hi")
    target, params = world.guests.calls[-1]
    assert target == guest_path("g1")
    assert params["Delay"] == Uint16(5) and isinstance(params["Delay"], Uint16)
    assert params["Where"] == host_path("h1")
    typed = params["Setting"]
    assert typed["Size"] == 4096 and typed.properties["Size"].type == "uint64"
    assert typed["Enabled"] is True
    assert result.return_value == Uint32(0) and isinstance(result.return_value, Uint32)
    assert result.out_params == {"Echo": "hi", "Count": Uint32(3)}
    assert isinstance(result.out_params["Count"], Uint32)


def test_only_sent_parameters_reach_the_provider(world):
    world.invoke(guest_path("g1"), "Start")
    assert world.guests.calls[-1][1] == {}


def test_static_method_on_a_class_path(world):
    result = world.invoke(CIMClassName("T_Guest", namespace=NS), "Create", Name="new")
    target, params = world.guests.calls[-1]
    assert isinstance(target, CIMClassName) and params == {"Name": "new"}
    assert result.out_params["Created"] == CIMInstanceName("T_Guest", {"Name": "new"},
                                                           namespace=NS)


@pytest.mark.parametrize("params, fragment", [
    ({"Bogus": "1"}, "Bogus"),
    ({"Count": "1"}, "Count"),
    ({"Delay": "soon"}, "Delay"),
    ({"Delay": "70000"}, "Delay"),
    ({"Where": "h1"}, "Where"),
    ({"Setting": CIMInstance("T_Nope")}, "T_Nope"),
    ({"Setting": CIMInstance("T_Host", properties={"Name": "x"})}, "T_Setting"),
    ({"Setting": CIMInstance("T_Setting", properties={"Size": "lots"})}, "Size"),
    ({"Setting": CIMInstance("T_Setting", properties={"Tags": ["a", "b"], "Size": ["1", "2"]})},
     "Size"),
])
def test_bad_inputs_are_invalid_parameter_naming_it(world, params, fragment):
    with pytest.raises(CIMError) as exc:
        world.invoke(guest_path("g1"), "Start", **params)
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER
    assert fragment in exc.value.status_description


def test_an_embedded_instance_that_is_not_one_is_unable_to_parse_embedded_object(world):
    # libvirt-cim's code and words, which its clients compare.
    with pytest.raises(CIMError) as exc:
        world.invoke(guest_path("g1"), "Start", Setting="InstanceID=s1")
    assert cim_status(exc) == CIM_ERR_FAILED
    assert "Unable to parse embedded object" in exc.value.status_description
    assert "Setting" in exc.value.status_description


class RaisingProvider(GuestProvider):
    def __init__(self, code):
        super().__init__({"T_Guest": ["g1"]})
        self.code = code

    @cim_method
    def Start(self, ctx, target, **params):
        raise CIMError(self.code, "guest 'g1' says no")


@pytest.mark.parametrize("code, answered", [
    (CIM_ERR_ALREADY_EXISTS, CIM_ERR_FAILED),
    (CIM_ERR_NOT_SUPPORTED, CIM_ERR_FAILED),
    (CIM_ERR_INVALID_CLASS, CIM_ERR_FAILED),
    (CIM_ERR_NOT_FOUND, CIM_ERR_NOT_FOUND),
    (CIM_ERR_INVALID_PARAMETER, CIM_ERR_INVALID_PARAMETER),
    (CIM_ERR_ACCESS_DENIED, CIM_ERR_ACCESS_DENIED),
])
def test_a_method_fails_only_with_the_codes_dsp0200_allows(world, code, answered):
    registry = ProviderRegistry()
    registry.register(NS, ["T_Guest"], RaisingProvider(code))
    dispatcher = Dispatcher(world.dispatcher.repository, registry)
    call = ExtrinsicCall("1", "Start", guest_path("g1"), {})
    with pytest.raises(CIMError) as exc:
        dispatcher.extrinsic(call)
    assert cim_status(exc) == answered
    assert exc.value.status_description == "guest 'g1' says no"



def test_embedded_properties_the_class_does_not_declare_are_ignored(world):
    sent = CIMInstance("T_Setting", properties={"Bogus": "x", "Size": "5"})
    world.invoke(guest_path("g1"), "Start", Setting=sent)
    setting = world.guests.calls[-1][1]["Setting"]
    assert list(setting.properties) == ["Size"] and setting["Size"] == 5


@pytest.mark.parametrize("blank", ["", " "])
def test_a_blank_reference_parameter_is_absent(world, blank):
    world.invoke(guest_path("g1"), "Start", Where=blank)
    assert world.guests.calls[-1][1] == {"Where": None}


def test_same_parameter_twice_in_different_case_is_invalid(world):
    with pytest.raises(CIMError) as exc:
        world.invoke(guest_path("g1"), "Start", Delay="1", delay="2")
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER


def test_method_errors(world):
    with pytest.raises(CIMError) as exc:
        world.invoke(guest_path("g1"), "Explode")
    assert cim_status(exc) == CIM_ERR_METHOD_NOT_FOUND
    with pytest.raises(CIMError) as exc:
        world.invoke(guest_path("g1"), "Stop")
    assert cim_status(exc) == CIM_ERR_METHOD_NOT_AVAILABLE
    with pytest.raises(CIMError) as exc:
        world.invoke(CIMInstanceName("T_Nope", {"a": "b"}, namespace=NS), "Start")
    assert cim_status(exc) == CIM_ERR_INVALID_CLASS
    with pytest.raises(CIMError) as exc:
        world.invoke(CIMInstanceName("T_Guest", {"Name": "g1"}, namespace="nope"), "Start")
    assert cim_status(exc) == CIM_ERR_INVALID_NAMESPACE


def test_method_of_another_class_is_not_found(world):
    with pytest.raises(CIMError) as exc:
        world.invoke(host_path("h1"), "Start")
    assert cim_status(exc) == CIM_ERR_METHOD_NOT_FOUND


def test_method_of_subclass_instance_reaches_its_provider(world):
    result = world.invoke(guest_path("k1", "T_KVMGuest"), "Start")
    assert result.return_value == 0
    assert world.guests.calls[-1][0].classname == "T_KVMGuest"


class WrongOutputs(GuestProvider):
    @cim_method
    def Start(self, ctx, target, **params):
        return "zero"


def test_provider_outputs_of_wrong_type_are_failed(world):
    registry = ProviderRegistry()
    registry.register(NS, ["T_Guest"], WrongOutputs({"T_Guest": ["g1"]}))
    dispatcher = Dispatcher(world.dispatcher.repository, registry)
    call = ExtrinsicCall("1", "Start", guest_path("g1"), {})
    with pytest.raises(CIMError) as exc:
        dispatcher.extrinsic(call)
    assert cim_status(exc) == CIM_ERR_FAILED
    assert "T_Guest.Start" in exc.value.status_description


def test_a_method_of_a_missing_instance_is_not_found_and_not_called(world):
    call = ExtrinsicCall("1", "Start", guest_path("nobody"), {})
    with pytest.raises(CIMError) as exc:
        world.dispatcher.extrinsic(call)
    assert cim_status(exc) == CIM_ERR_NOT_FOUND
    assert world.guests.calls == []


def test_method_signature_types_the_outputs(world):
    sig = world.dispatcher.method_signature("test", "t_guest", "start")
    assert sig.name == "Start" and sig.return_type == "uint32"
    assert sig.parameters["Count"].type == "uint32"
    created = world.dispatcher.method_signature(NS, "T_Guest", "Create").parameters["Created"]
    assert created.type == "reference" and created.reference_class == "T_Guest"
    with pytest.raises(CIMError) as exc:
        world.dispatcher.method_signature(NS, "T_Guest", "Explode")
    assert cim_status(exc) == CIM_ERR_METHOD_NOT_FOUND


def test_embedded_instance_properties_keep_their_declaration(world):
    setting = CIMInstance("T_Setting", properties=[CIMProperty("Size", Uint16(7))])
    world.invoke(guest_path("g1"), "Start", Setting=setting)
    typed = world.guests.calls[-1][1]["Setting"]
    assert typed.properties["Size"].type == "uint64" and typed["Size"] == 7


def test_embedded_properties_a_class_does_not_declare_are_ignored(world):
    setting = CIMInstance("T_Setting", properties={"InstanceID": "s1", "Bogus": "x"})
    world.invoke(guest_path("g1"), "Start", Setting=setting)
    typed = world.guests.calls[-1][1]["Setting"]
    assert dict(typed) == {"InstanceID": "s1"}


def test_embedded_values_are_taken_in_the_shapes_libvirt_cims_clients_wrote(world):
    setting = CIMInstance("T_Setting", properties=[
        CIMProperty("Tags", "hd"), CIMProperty("Size", ["4096"])])
    world.invoke(guest_path("g1"), "Start", Setting=setting)
    typed = world.guests.calls[-1][1]["Setting"]
    assert (typed["Tags"], typed["Size"]) == (["hd"], 4096)
    assert typed.properties["Tags"].is_array and typed.properties["Size"].type == "uint64"


def test_an_embedded_number_for_a_string_is_not_given_as_libvirt_cim_read_it(world):
    setting = CIMInstance("T_Setting", properties=[
        CIMProperty("InstanceID", Uint32(256)), CIMProperty("Size", Uint32(1))])
    world.invoke(guest_path("g1"), "Start", Setting=setting)
    typed = world.guests.calls[-1][1]["Setting"]
    assert "InstanceID" not in typed and typed["Size"] == 1


def test_a_method_its_provider_does_not_support_stays_not_supported():
    with pytest.raises(CIMError) as unsupported:
        with method_errors():
            raise UnsupportedMethod("Frobnicate is not supported")
    assert unsupported.value.status_code == CIM_ERR_NOT_SUPPORTED
    with pytest.raises(CIMError) as refused:
        with method_errors():
            raise CIMError(CIM_ERR_NOT_SUPPORTED, "libvirt refuses")
    assert refused.value.status_code == CIM_ERR_FAILED
