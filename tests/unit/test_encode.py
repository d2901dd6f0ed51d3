"""The response encoder: every result shape, read back by pywbem's own client parser."""

from __future__ import annotations

import math

import pytest
from lxml import etree
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMClassName,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    CIMProperty,
    CIMQualifier,
    CIMQualifierDeclaration,
    Real32,
    Real64,
    Sint8,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
)

from tests.unit.cimxml_bodies import ireturnvalue, parse_response, same_properties
from virtcim.cimxml import encode
from virtcim.cimxml.encode import (
    encode_error_response,
    encode_extrinsic_response,
    encode_intrinsic_response,
)
from virtcim.cimxml.messages import MethodResult, PullResult

NAMESPACE = "root/virt"


# --------------------------------------------------------------------------
# sample objects


def computer_system(name: str = "web1", host: str | None = None) -> CIMInstance:
    path = CIMInstanceName(
        "KVM_ComputerSystem",
        {"CreationClassName": "KVM_ComputerSystem", "Name": name},
        namespace=NAMESPACE if host else None,
        host=host,
    )
    return CIMInstance(
        "KVM_ComputerSystem",
        properties=[
            CIMProperty("CreationClassName", "KVM_ComputerSystem"),
            CIMProperty("Name", name),
            CIMProperty("EnabledState", Uint16(2)),
            CIMProperty("Description", 'a <"quoted"> & \'odd\' guest\nsecond line\ttab'),
            CIMProperty("OperationalStatus", [Uint16(2), Uint16(32768)]),
            CIMProperty("Dedicated", [], type="uint16"),
            CIMProperty("Caption", None, type="string"),
            CIMProperty("Names", ["a", None, ""], type="string"),
            CIMProperty("InstallDate", CIMDateTime("20240131123456.123456+060")),
            CIMProperty("TimeOfLastStateChange", CIMDateTime("00000001020304.000000:000")),
            CIMProperty("Load", Real32(0.1)),
            CIMProperty("Ratio", Real64(1 / 3)),
            CIMProperty("Huge", Real64(math.inf)),
            CIMProperty("Negative", Real64(-math.inf)),
            CIMProperty("Unknown", Real64(math.nan)),
            CIMProperty("Offset", Sint8(-128)),
            CIMProperty("Bytes", Uint64(2**64 - 1)),
            CIMProperty("Flag", True),
            CIMProperty("Letter", "x", type="char16"),
            CIMProperty("Owner", CIMInstanceName("KVM_HostSystem", {"Name": "h"}, namespace=NAMESPACE)),
            CIMProperty("Settings", CIMInstance("KVM_VSSD", {"InstanceID": "KVM:<web1>"}),
                        embedded_object="instance"),
        ],
        path=path,
    )


# --------------------------------------------------------------------------
# intrinsic result shapes


def test_get_instance_writes_an_instance_pywbem_reads_back_equal():
    instance = computer_system()
    (returned,) = ireturnvalue("GetInstance", instance)[0][2]
    assert same_properties(returned, instance)
    assert returned["Settings"]["InstanceID"] == "KVM:<web1>"
    assert returned.path is None


def test_enumerate_instances_writes_named_instances_with_their_paths():
    instances = [computer_system("a"), computer_system("b")]
    for instance in instances:
        instance.path.namespace = NAMESPACE  # local paths: the namespace is not written
    returned = ireturnvalue("EnumerateInstances", iter(instances))[0][2]
    assert [item.path.keybindings["Name"] for item in returned] == ["a", "b"]
    for got, expected in zip(returned, instances, strict=True):
        assert same_properties(got, expected)
        assert got.path.namespace is None


def test_empty_enumeration_writes_an_explicit_ireturnvalue():
    body = b"".join(encode_intrinsic_response("1", "EnumerateInstances", []))
    assert b"<IRETURNVALUE></IRETURNVALUE>" in body
    assert ireturnvalue("EnumerateInstances", [])[0][2] == []


def test_enumerate_instance_names_keeps_key_types():
    path = CIMInstanceName(
        "KVM_Disk",
        {"Name": "d<1>", "Index": Uint16(3), "Plain": 7, "Ratio": 2.5, "On": False,
         "System": CIMInstanceName("KVM_ComputerSystem", {"Name": "web1"}, namespace=NAMESPACE)},
    )
    (returned,) = ireturnvalue("EnumerateInstanceNames", [path])[0][2]
    assert returned == path
    assert isinstance(returned.keybindings["Index"], Uint16)
    assert returned.keybindings["On"] is False


def test_associators_write_objects_with_full_paths():
    instance = computer_system(host="virt.example")
    ((tag, _, returned),) = ireturnvalue("Associators", [instance])[0][2]
    assert tag == "VALUE.OBJECTWITHPATH"
    assert returned.path == instance.path
    assert returned.path.host == "virt.example"
    assert same_properties(returned, instance)


def test_associator_names_write_object_paths():
    path = computer_system(host="h").path
    ((tag, _, returned),) = ireturnvalue("ReferenceNames", [path])[0][2]
    assert tag == "OBJECTPATH" and returned == path


def test_create_instance_returns_the_new_name():
    path = CIMInstanceName("KVM_Pool", {"InstanceID": "DiskPool/default"})
    assert ireturnvalue("CreateInstance", path)[0][2] == [path]


@pytest.mark.parametrize("name", ["ModifyInstance", "DeleteInstance", "CloseEnumeration", "SetProperty"])
def test_void_operations_have_no_ireturnvalue(name):
    response = parse_response(b"".join(encode_intrinsic_response("1", name, None)))
    assert response[2] == []


def test_unknown_operation_is_refused_before_anything_is_written():
    with pytest.raises(ValueError, match="Frobnicate"):
        encode_intrinsic_response("1", "Frobnicate", None)


@pytest.mark.parametrize(
    "value",
    [Uint32(7), "text & more", [Uint16(1), Uint16(2)], ["a", None],
     CIMInstanceName("X", {"k": "v"}, namespace=NAMESPACE)],
)
def test_get_property_writes_the_value_by_its_shape(value):
    (returned,) = ireturnvalue("GetProperty", value)[0][2]
    if isinstance(value, CIMInstanceName):
        assert returned == value
    else:
        assert returned == [str(item) if item is not None else None for item in value] \
            if isinstance(value, list) else str(value)


def test_get_property_of_null_writes_an_empty_ireturnvalue():
    assert ireturnvalue("GetProperty", None)[0][2] == []


def test_enumeration_count_writes_a_value():
    assert ireturnvalue("EnumerationCount", 12)[0][2] == ["12"]


def test_classes_round_trip_with_qualifiers_methods_and_parameters():
    cls = CIMClass(
        "KVM_VirtualSystemManagementService",
        superclass="CIM_VirtualSystemManagementService",
        qualifiers=[CIMQualifier("Description", "Manages <guests>", overridable=True,
                                 tosubclass=True, translatable=True)],
        properties=[
            CIMProperty("Name", None, type="string", class_origin="CIM_ManagedElement",
                        propagated=True, qualifiers=[CIMQualifier("Key", True, overridable=False)]),
            CIMProperty("States", None, type="uint16", is_array=True),
            CIMProperty("Default", Uint32(5), class_origin="KVM_VirtualSystemManagementService",
                        propagated=False),
            CIMProperty("System", None, type="reference", reference_class="CIM_System"),
        ],
        methods=[
            CIMMethod(
                "DefineSystem", return_type="uint32", propagated=False,
                qualifiers=[CIMQualifier("ValueMap", ["0", "1", ".."])],
                parameters=[
                    CIMParameter("SystemSettings", "string",
                                 qualifiers=[CIMQualifier("EmbeddedInstance", "CIM_VSSD")]),
                    CIMParameter("ResourceSettings", "string", is_array=True),
                    CIMParameter("ReferenceConfiguration", "reference",
                                 reference_class="CIM_VirtualSystemSettingData"),
                    CIMParameter("ResultingSystems", "reference", is_array=True,
                                 reference_class="CIM_ComputerSystem"),
                    CIMParameter("Job", "reference", reference_class="CIM_ConcreteJob",
                                 qualifiers=[CIMQualifier("Out", True)]),
                ],
            )
        ],
    )
    (returned,) = ireturnvalue("GetClass", cls)[0][2]
    assert returned.tomof() == cls.tomof()  # all but PROPAGATED and CLASSORIGIN
    assert returned.properties["Name"].class_origin == "CIM_ManagedElement"
    assert returned.properties["Name"].propagated is True
    assert returned.properties["System"].reference_class == "CIM_System"
    parameters = returned.methods["DefineSystem"].parameters
    assert parameters["ResultingSystems"].is_array and parameters["ResultingSystems"].type == "reference"
    (listed,) = ireturnvalue("EnumerateClasses", [cls])[0][2]
    assert listed.tomof() == cls.tomof()


def test_class_names_are_written_as_classname_elements():
    returned = ireturnvalue("EnumerateClassNames", ["CIM_A", CIMClassName("CIM_B")])[0][2]
    assert [name.classname for name in returned] == ["CIM_A", "CIM_B"]


def test_qualifier_declarations_round_trip():
    declaration = CIMQualifierDeclaration(
        "ValueMap", "string", is_array=True, scopes={"PROPERTY": True, "METHOD": True,
                                                     "PARAMETER": True},
        overridable=True, tosubclass=True, translatable=False,
    )
    key = CIMQualifierDeclaration("Key", "boolean", value=False, scopes={"ANY": True},
                                  overridable=False, tosubclass=True)
    returned = ireturnvalue("EnumerateQualifiers", [declaration, key])[0][2]
    assert returned[0].name == "ValueMap" and returned[0].is_array
    assert returned[0].scopes["METHOD"] and not returned[0].scopes["CLASS"]
    assert returned[1].value is False and returned[1].overridable is False
    assert all(returned[1].scopes.values())


# --------------------------------------------------------------------------
# pull operations


def test_open_enumerate_instances_writes_instances_with_path_then_the_context():
    instance = computer_system(host="h")
    body = b"".join(encode_intrinsic_response(
        "1", "OpenEnumerateInstances", PullResult([instance], False, "ctx-7")))
    children = parse_response(body)[2]
    assert [child[0] for child in children] == ["IRETURNVALUE", "EndOfSequence", "EnumerationContext"]
    (returned,) = children[0][2]
    assert returned.path == instance.path and same_properties(returned, instance)
    assert children[1][2] == "FALSE" and children[2][2] == "ctx-7"


def test_pull_instance_paths_write_instance_paths_and_end_of_sequence():
    path = computer_system(host="h").path
    children = ireturnvalue("PullInstancePaths", PullResult([path], True, ""))
    assert children[0][2] == [path]
    assert children[1][2] == "TRUE"


def test_pull_instances_for_queries_write_bare_instances():
    instance = CIMInstance("CIM_QueryResult", {"Count": Uint32(1)})
    children = ireturnvalue("PullInstances", PullResult([instance], True, ""))
    assert same_properties(children[0][2][0], instance)


def test_pywbem_pull_api_accepts_the_response(monkeypatch):
    """The client's own result handling, not just its parser."""
    import pywbem

    instance = computer_system(host="h")
    result = PullResult([instance], False, "c1")
    body = b"".join(encode_intrinsic_response("1001", "OpenEnumerateInstances", result))

    conn = pywbem.WBEMConnection("http://127.0.0.1:9", default_namespace=NAMESPACE)
    monkeypatch.setattr(pywbem._cim_operations, "wbem_request", lambda *args, **kw: (body, None))
    pulled = conn.OpenEnumerateInstances("KVM_ComputerSystem", MaxObjectCount=10)
    assert pulled.eos is False and pulled.context[0] == "c1"
    assert pulled.instances[0].path == instance.path


# --------------------------------------------------------------------------
# extrinsic responses and errors


def _method_response(body: bytes) -> tuple:
    response = parse_response(body)
    assert response[0] == "METHODRESPONSE"
    return response


def test_method_response_types_return_value_and_outputs_from_the_declaration():
    signature = CIMMethod("DefineSystem", return_type="uint32", parameters=[
        CIMParameter("ResultingSystem", "reference", reference_class="CIM_ComputerSystem"),
        CIMParameter("Count", "uint16"),
        CIMParameter("Notes", "string", is_array=True),
        CIMParameter("Settings", "string", is_array=True),
    ])
    system = CIMInstanceName("KVM_ComputerSystem", {"Name": "web1"}, namespace=NAMESPACE)
    settings = CIMInstance("KVM_VSSD", {"InstanceID": "KVM:web1"})
    result = MethodResult(0, {"ResultingSystem": system, "Count": 3, "Notes": ["x", "<y>"],
                              "Settings": [settings], "Job": None})
    body = encode_extrinsic_response("9", "DefineSystem", result, signature)
    _, _, children = _method_response(body)
    returnvalue = children[0]
    assert returnvalue[0] == "RETURNVALUE" and returnvalue[1]["PARAMTYPE"] == "uint32"
    outputs = {child[0]: child for child in children[1:]}
    assert outputs["ResultingSystem"][1:] == ("reference", system)
    assert outputs["Count"][1:] == ("uint16", "3")
    assert outputs["Notes"][2] == ["x", "<y>"]
    assert same_properties(outputs["Settings"][2][0], settings)
    assert outputs["Job"][2] is None
    assert b'EmbeddedObject="instance"' in body


def test_pywbem_invoke_method_reads_the_response(monkeypatch):
    import pywbem

    signature = CIMMethod("RequestStateChange", return_type="uint32",
                          parameters=[CIMParameter("Job", "reference")])
    job = CIMInstanceName("KVM_ConcreteJob", {"InstanceID": "j1"}, namespace=NAMESPACE)
    body = encode_extrinsic_response("1001", "RequestStateChange",
                                     MethodResult(4096, {"Job": job}), signature)
    conn = pywbem.WBEMConnection("http://127.0.0.1:9", default_namespace=NAMESPACE)
    monkeypatch.setattr(pywbem._cim_operations, "wbem_request", lambda *args, **kw: (body, None))
    returned, outputs = conn.InvokeMethod("RequestStateChange", CIMClassName("KVM_ComputerSystem"))
    assert returned == 4096 and isinstance(returned, Uint32)
    assert outputs["Job"] == job


def test_method_response_without_a_declaration_types_values_themselves():
    body = encode_extrinsic_response("1", "Ping", MethodResult(Uint8(1), {"Up": True}))
    _, _, children = _method_response(body)
    assert children[0][1]["PARAMTYPE"] == "uint8"
    assert children[1][1:] == ("boolean", "TRUE")


def test_method_returning_a_value_its_declaration_forbids_is_a_cim_error():
    signature = CIMMethod("Shout", return_type="uint8")
    with pytest.raises(CIMError) as raised:
        encode_extrinsic_response("1", "Shout", MethodResult(300), signature)
    assert raised.value.status_code == CIM_ERR_FAILED
    assert "Shout" in raised.value.status_description


@pytest.mark.parametrize("intrinsic", [True, False])
def test_error_response_carries_code_and_escaped_description(intrinsic):
    error = CIMError(CIM_ERR_NOT_FOUND, 'no guest "web<1>" on qemu:///system')
    body = encode_error_response("5", "GetInstance", intrinsic, error)
    response = parse_response(body)
    assert response[0] == ("IMETHODRESPONSE" if intrinsic else "METHODRESPONSE")
    (error_element,) = response[2]
    assert error_element[1] == {"CODE": "6", "DESCRIPTION": 'no guest "web<1>" on qemu:///system'}


def test_message_id_is_echoed_escaped():
    body = encode_error_response('1"&2', "GetInstance", True, CIMError(CIM_ERR_FAILED, "x"))
    root = etree.fromstring(body)
    assert root.find("MESSAGE").get("ID") == '1"&2'


# --------------------------------------------------------------------------
# text, escaping and streaming


def test_text_that_xml_cannot_carry_is_replaced_and_line_ends_survive():
    instance = CIMInstance("X", {"S": "a\x00b\x1fc\ud800d\r\n\te"})
    (returned,) = ireturnvalue("GetInstance", instance)[0][2]
    assert returned["S"] == "a\ufffdb\ufffdc\ufffdd\r\n\te"


def test_attribute_whitespace_survives():
    error = CIMError(CIM_ERR_FAILED, "line one\nline\ttwo")
    body = encode_error_response("1", "GetInstance", True, error)
    assert parse_response(body)[2][0][1]["DESCRIPTION"] == "line one\nline\ttwo"


def test_reals_keep_full_precision():
    instance = CIMInstance("X", {"A": Real64(0.1 + 0.2), "B": Real32(3.4028234663852886e38)})
    (returned,) = ireturnvalue("GetInstance", instance)[0][2]
    assert returned["A"] == 0.1 + 0.2 and returned["B"] == 3.4028234663852886e38


def test_null_array_items_are_written_as_value_null_with_end_tags():
    body = b"".join(encode_intrinsic_response(
        "1", "GetInstance", CIMInstance("X", {"A": CIMProperty("A", [Uint8(1), None])})))
    assert b"<VALUE.ARRAY><VALUE>1</VALUE><VALUE.NULL></VALUE.NULL></VALUE.ARRAY>" in body


def test_large_enumerations_stream_in_chunks(monkeypatch):
    monkeypatch.setattr(encode, "CHUNK_SIZE", 4096)
    produced = []

    def instances():
        for number in range(200):
            produced.append(number)
            yield computer_system(str(number))

    for item in (items := list(instances())):
        item.path.namespace = NAMESPACE
    chunks = encode_intrinsic_response("1", "EnumerateInstances", iter(items))
    first = next(chunks)
    assert 4096 <= len(first) < 20000
    rest = list(chunks)
    assert len(rest) > 5
    assert len(ireturnvalue("EnumerateInstances", items)[0][2]) == 200
    assert b"".join([first, *rest]).endswith(b"</CIM>")


@pytest.mark.parametrize("operation", ["EnumerateInstances", "Associators",
                                       "OpenEnumerateInstances"])
def test_frozen_instances_are_written_as_plain_ones_are_every_time(operation):
    def results(instance):
        items = [instance, instance]
        return PullResult(items, True, "") if operation.startswith("Open") else items

    plain = computer_system("gäst-€", host="h")
    plain["Description"] = "naïve ☃"
    frozen = encode.FrozenInstance(plain.classname, plain.properties, path=plain.path)

    def written(instance):
        return b"".join(encode_intrinsic_response("1", operation, results(instance)))

    expected = written(plain)
    assert written(frozen) == expected
    assert written(frozen) == expected  # from what the first write kept
    assert "naïve ☃".encode() in expected


def test_an_error_raised_by_the_items_reaches_the_caller():
    def failing():
        yield CIMInstance("X", path=CIMInstanceName("X", {"k": "1"}))
        raise CIMError(CIM_ERR_FAILED, "libvirt went away")

    with pytest.raises(CIMError, match="libvirt went away"):
        b"".join(encode_intrinsic_response("1", "EnumerateInstances", failing()))
