"""The request decoder: real client requests in, typed calls out; bad requests refused."""

from __future__ import annotations

import socket
import warnings

import pytest
import pywbem
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIMClass,
    CIMClassName,
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    CIMQualifierDeclaration,
    Real32,
    Uint16,
    Uint64,
)

from tests.unit.cimxml_bodies import LOCAL_NAMESPACE, envelope, imethodcall, methodcall
from virtcim.cimxml.decode import MAX_EMBEDDING, decode_embedded_object, decode_request
from virtcim.cimxml.messages import CallError, ExtrinsicCall, IntrinsicCall, RequestError

NAMESPACE = "root/virt"
SYSTEM = CIMInstanceName(
    "KVM_ComputerSystem", {"CreationClassName": "KVM_ComputerSystem", "Name": "web1"}
)
SERVICE = CIMInstanceName(
    "KVM_VirtualSystemManagementService",
    {"CreationClassName": "KVM_VirtualSystemManagementService", "Name": "Management Service",
     "SystemCreationClassName": "KVM_HostSystem", "SystemName": "host"},
    namespace=NAMESPACE,
)
CONTEXT = ("ctx-1", NAMESPACE)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    """A pywbem connection to a closed port: it builds real requests and fails to send them.

    pywbem retries refused connections with a back-off; no retries keeps this fast.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(pywbem._cim_operations.RETRY_KWARGS, "connect", 0)
        yield pywbem.WBEMConnection(f"http://127.0.0.1:{_closed_port()}",
                                    default_namespace=NAMESPACE, timeout=2)


def client_request(client, operation: str, *args, **kwargs) -> bytes:
    with pytest.raises(pywbem.ConnectionError):
        getattr(client, operation)(*args, **kwargs)
    return client.last_raw_request.encode("utf-8")


def in_namespace(path):
    path = path.copy()
    path.namespace = NAMESPACE
    return path


def classname(name: str) -> CIMClassName:
    return CIMClassName(name, namespace=NAMESPACE)


# --------------------------------------------------------------------------
# requests pywbem's client sends


INTRINSIC_CASES = [
    ("GetInstance", (SYSTEM,), {"IncludeClassOrigin": True, "PropertyList": ["Name"]},
     {"InstanceName": in_namespace(SYSTEM), "IncludeClassOrigin": True, "PropertyList": ["Name"]}),
    ("EnumerateInstances", ("KVM_ComputerSystem",),
     {"DeepInheritance": True, "LocalOnly": False, "IncludeQualifiers": False, "PropertyList": []},
     {"ClassName": classname("KVM_ComputerSystem"), "DeepInheritance": True, "LocalOnly": False,
      "IncludeQualifiers": False, "PropertyList": []}),
    ("EnumerateInstanceNames", ("CIM_System",), {}, {"ClassName": classname("CIM_System")}),
    ("DeleteInstance", (SYSTEM,), {}, {"InstanceName": in_namespace(SYSTEM)}),
    ("Associators", (SYSTEM,),
     {"AssocClass": "CIM_SystemDevice", "ResultClass": "CIM_LogicalDevice",
      "Role": "GroupComponent", "ResultRole": "PartComponent"},
     {"ObjectName": in_namespace(SYSTEM), "AssocClass": classname("CIM_SystemDevice"),
      "ResultClass": classname("CIM_LogicalDevice"), "Role": "GroupComponent",
      "ResultRole": "PartComponent"}),
    ("AssociatorNames", (CIMClassName("KVM_ComputerSystem"),), {},
     {"ObjectName": classname("KVM_ComputerSystem")}),
    ("References", (SYSTEM,), {"ResultClass": "CIM_SystemDevice"},
     {"ObjectName": in_namespace(SYSTEM), "ResultClass": classname("CIM_SystemDevice")}),
    ("ReferenceNames", (SYSTEM,), {}, {"ObjectName": in_namespace(SYSTEM)}),
    ("ExecQuery", ("WQL", "SELECT * FROM CIM_System WHERE Name < 'x'"), {},
     {"QueryLanguage": "WQL", "Query": "SELECT * FROM CIM_System WHERE Name < 'x'"}),
    ("GetClass", ("CIM_System",), {"LocalOnly": False, "IncludeQualifiers": True},
     {"ClassName": classname("CIM_System"), "LocalOnly": False, "IncludeQualifiers": True}),
    ("EnumerateClasses", (), {"ClassName": "CIM_System", "DeepInheritance": True},
     {"ClassName": classname("CIM_System"), "DeepInheritance": True}),
    ("EnumerateClassNames", (), {}, {}),
    ("DeleteClass", ("Demo",), {}, {"ClassName": classname("Demo")}),
    ("GetQualifier", ("Key",), {}, {"QualifierName": "Key"}),
    ("EnumerateQualifiers", (), {}, {}),
    ("DeleteQualifier", ("Key",), {}, {"QualifierName": "Key"}),
    ("OpenEnumerateInstances", ("KVM_ComputerSystem",),
     {"MaxObjectCount": 100, "OperationTimeout": 30, "ContinueOnError": False},
     {"ClassName": classname("KVM_ComputerSystem"), "MaxObjectCount": 100,
      "OperationTimeout": 30, "ContinueOnError": False}),
    ("OpenEnumerateInstancePaths", ("CIM_System",),
     {"FilterQueryLanguage": "DMTF:FQL", "FilterQuery": "Name = 'web1'", "MaxObjectCount": 0},
     {"ClassName": classname("CIM_System"), "FilterQueryLanguage": "DMTF:FQL",
      "FilterQuery": "Name = 'web1'", "MaxObjectCount": 0}),
    ("OpenAssociatorInstances", (SYSTEM,), {"AssocClass": "CIM_SystemDevice", "MaxObjectCount": 1},
     {"InstanceName": in_namespace(SYSTEM), "AssocClass": classname("CIM_SystemDevice"),
      "MaxObjectCount": 1}),
    ("OpenAssociatorInstancePaths", (SYSTEM,), {}, {"InstanceName": in_namespace(SYSTEM)}),
    ("OpenReferenceInstances", (SYSTEM,), {"Role": "GroupComponent"},
     {"InstanceName": in_namespace(SYSTEM), "Role": "GroupComponent"}),
    ("OpenReferenceInstancePaths", (SYSTEM,), {}, {"InstanceName": in_namespace(SYSTEM)}),
    ("OpenQueryInstances", ("DMTF:CQL", "SELECT * FROM CIM_System"),
     {"ReturnQueryResultClass": True},
     {"FilterQueryLanguage": "DMTF:CQL", "FilterQuery": "SELECT * FROM CIM_System",
      "ReturnQueryResultClass": True}),
    ("PullInstancesWithPath", (CONTEXT, 50), {}, {"EnumerationContext": "ctx-1", "MaxObjectCount": 50}),
    ("PullInstancePaths", (CONTEXT, 50), {}, {"EnumerationContext": "ctx-1", "MaxObjectCount": 50}),
    ("PullInstances", (CONTEXT, 50), {}, {"EnumerationContext": "ctx-1", "MaxObjectCount": 50}),
    ("CloseEnumeration", (CONTEXT,), {}, {"EnumerationContext": "ctx-1"}),
]


@pytest.mark.parametrize(("operation", "args", "kwargs", "expected"), INTRINSIC_CASES,
                         ids=[case[0] for case in INTRINSIC_CASES])
def test_pywbem_intrinsic_requests_decode_to_typed_parameters(client, operation, args, kwargs,
                                                              expected):
    call = decode_request(client_request(client, operation, *args, **kwargs))
    assert isinstance(call, IntrinsicCall)
    assert (call.message_id, call.name, call.namespace) == ("1001", operation, NAMESPACE)
    assert call.params == expected


def test_create_instance_decodes_typed_properties(client):
    new = CIMInstance("KVM_Demo", properties=[
        CIMProperty("Name", "a<b>&c"),
        CIMProperty("Count", Uint16(3)),
        CIMProperty("Sizes", [Uint64(1), None], type="uint64"),
        CIMProperty("When", CIMDateTime("20240131123456.000000+000")),
        CIMProperty("Ratio", Real32(float("inf"))),
        CIMProperty("On", False),
        CIMProperty("Empty", None, type="string"),
        CIMProperty("Owner", SYSTEM.copy()),
    ])
    call = decode_request(client_request(client, "CreateInstance", new))
    decoded = call.params["NewInstance"]
    assert decoded == new
    assert isinstance(decoded["Count"], Uint16)


def test_modify_instance_carries_its_path_in_the_call_namespace(client):
    modified = CIMInstance("KVM_Demo", {"Name": "a", "Count": Uint16(4)},
                           path=CIMInstanceName("KVM_Demo", {"Name": "a"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        body = client_request(client, "ModifyInstance", modified, PropertyList=["Count"])
    call = decode_request(body)
    instance = call.params["ModifiedInstance"]
    assert instance.path == CIMInstanceName("KVM_Demo", {"Name": "a"}, namespace=NAMESPACE)
    assert instance["Count"] == 4 and call.params["PropertyList"] == ["Count"]


def test_class_and_qualifier_declarations_decode(client):
    cls = CIMClass("Demo", superclass="CIM_ManagedElement",
                   properties=[CIMProperty("Name", None, type="string")])
    call = decode_request(client_request(client, "CreateClass", cls))
    assert call.params["NewClass"].tomof() == cls.tomof()
    declaration = CIMQualifierDeclaration("Demo", "string", scopes={"CLASS": True},
                                          overridable=True, tosubclass=True)
    call = decode_request(client_request(client, "SetQualifier", declaration))
    assert call.params["QualifierDeclaration"].scopes["CLASS"] is True


def test_invoke_method_keeps_values_as_sent_and_decodes_embedded_instances(client):
    rasd = CIMInstance("KVM_ProcResourceAllocationSettingData",
                       {"InstanceID": "web1/proc", "VirtualQuantity": Uint64(4),
                        "ResourceType": Uint16(3)})
    body = client_request(
        client, "InvokeMethod", "ModifyResourceSettings", SERVICE,
        ResourceSettings=[rasd], AffectedSystem=SYSTEM, Systems=[SYSTEM, SYSTEM],
        TimeoutPeriod=CIMDateTime("00000000000100.000000:000"), Names=["a", "b"],
        Force=True, Settings=rasd,
    )
    call = decode_request(body)
    assert isinstance(call, ExtrinsicCall)
    assert (call.name, call.target, call.namespace) == ("ModifyResourceSettings", SERVICE, NAMESPACE)
    params = call.params
    assert params["ResourceSettings"].value == [rasd]
    assert params["ResourceSettings"].paramtype == "string"
    assert params["Settings"].value == rasd
    assert params["AffectedSystem"].value == in_namespace(SYSTEM)
    assert params["AffectedSystem"].paramtype == "reference"
    assert params["Systems"].value == [in_namespace(SYSTEM)] * 2
    assert params["TimeoutPeriod"].value == "00000000000100.000000:000"
    assert params["TimeoutPeriod"].paramtype == "datetime"
    assert params["Names"].value == ["a", "b"]
    assert params["Force"].value == "TRUE"


def test_class_method_targets_a_class_path(client):
    call = decode_request(client_request(client, "InvokeMethod", "Ping",
                                         CIMClassName("KVM_Service", namespace=NAMESPACE)))
    assert call.target == classname("KVM_Service") and call.params == {}


# --------------------------------------------------------------------------
# hand-written bodies: wbemcli, DSP0201 2.4 forms, MOF from cimtest


def test_wbemcli_get_instance_with_untyped_keys():
    body = imethodcall("GetInstance", """
<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="KVM_ComputerSystem">
<KEYBINDING NAME="CreationClassName"><KEYVALUE VALUETYPE="string">KVM_ComputerSystem</KEYVALUE></KEYBINDING>
<KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">web1</KEYVALUE></KEYBINDING>
</INSTANCENAME></IPARAMVALUE>
<IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE>
<IPARAMVALUE NAME="IncludeQualifiers"><VALUE>false</VALUE></IPARAMVALUE>
<IPARAMVALUE NAME="IncludeClassOrigin"><VALUE>TRUE</VALUE></IPARAMVALUE>""")
    call = decode_request(body)
    assert call.message_id == "4711" and call.namespace == NAMESPACE
    assert call.params == {"InstanceName": in_namespace(SYSTEM), "LocalOnly": False,
                           "IncludeQualifiers": False, "IncludeClassOrigin": True}


def test_whitespace_before_the_xml_declaration_is_read_as_libvirt_cim_s_brokers_read_it():
    body = imethodcall("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName">'
                                                 '<CLASSNAME NAME="CIM_IndicationFilter"/>'
                                                 "</IPARAMVALUE>")
    call = decode_request(b"\n    " + body)
    assert call.name == "EnumerateInstanceNames" and call.namespace == NAMESPACE


def test_text_after_the_cim_element_is_no_part_of_the_request():
    body = imethodcall("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName">'
                                                 '<CLASSNAME NAME="CIM_IndicationFilter"/>'
                                                 "</IPARAMVALUE>")
    assert decode_request(body.rstrip() + b";\n    ").name == "EnumerateInstanceNames"


def test_a_body_cut_before_the_cim_element_ends_is_still_malformed():
    body = imethodcall("EnumerateInstanceNames", '<IPARAMVALUE NAME="ClassName">'
                                                 '<CLASSNAME NAME="CIM_IndicationFilter"/>'
                                                 "</IPARAMVALUE>")
    with pytest.raises(RequestError):
        decode_request(body[:-20])


def test_key_values_are_typed_by_valuetype_and_type():
    body = imethodcall("GetInstance", """<IPARAMVALUE NAME="InstanceName">
<INSTANCENAME CLASSNAME="X">
<KEYBINDING NAME="Plain"><KEYVALUE VALUETYPE="numeric">42</KEYVALUE></KEYBINDING>
<KEYBINDING NAME="Real"><KEYVALUE VALUETYPE="numeric">-1.5e3</KEYVALUE></KEYBINDING>
<KEYBINDING NAME="Typed"><KEYVALUE VALUETYPE="numeric" TYPE="uint16">7</KEYVALUE></KEYBINDING>
<KEYBINDING NAME="Flag"><KEYVALUE VALUETYPE="boolean">true</KEYVALUE></KEYBINDING>
<KEYBINDING NAME="Text"><KEYVALUE>a b</KEYVALUE></KEYBINDING>
<KEYBINDING NAME="Ref"><VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>h</HOST>
<LOCALNAMESPACEPATH><NAMESPACE NAME="interop"></NAMESPACE></LOCALNAMESPACEPATH></NAMESPACEPATH>
<INSTANCENAME CLASSNAME="Y"><KEYBINDING NAME="k"><KEYVALUE>v</KEYVALUE></KEYBINDING></INSTANCENAME>
</INSTANCEPATH></VALUE.REFERENCE></KEYBINDING>
</INSTANCENAME></IPARAMVALUE>""")
    keys = decode_request(body).params["InstanceName"].keybindings
    assert keys["Plain"] == 42 and type(keys["Plain"]) is int
    assert keys["Real"] == -1500.0
    assert isinstance(keys["Typed"], Uint16)
    assert keys["Flag"] is True and keys["Text"] == "a b"
    assert keys["Ref"] == CIMInstanceName("Y", {"k": "v"}, namespace="interop", host="h")


def test_empty_iparamvalue_is_none_and_unknown_names_are_kept():
    body = imethodcall("EnumerateInstances", """
<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_System"></CLASSNAME></IPARAMVALUE>
<IPARAMVALUE NAME="PropertyList"></IPARAMVALUE>
<IPARAMVALUE NAME="Frobnicate"><VALUE>yes</VALUE></IPARAMVALUE>""")
    params = decode_request(body).params
    assert params["PropertyList"] is None and params["Frobnicate"] == "yes"


def test_set_property_new_value_keeps_its_shape():
    body = imethodcall("SetProperty", """
<IPARAMVALUE NAME="PropertyName"><VALUE>Sizes</VALUE></IPARAMVALUE>
<IPARAMVALUE NAME="NewValue"><VALUE.ARRAY><VALUE>1</VALUE><VALUE.NULL></VALUE.NULL></VALUE.ARRAY>
</IPARAMVALUE>""")
    assert decode_request(body).params == {"PropertyName": "Sizes", "NewValue": ["1", None]}


def test_instance_directly_inside_paramvalue_is_decoded():
    body = methodcall("DefineSystem", """<PARAMVALUE NAME="SystemSettings">
<INSTANCE CLASSNAME="KVM_VSSD"><PROPERTY NAME="ElementName" TYPE="string"><VALUE>web1</VALUE>
</PROPERTY></INSTANCE></PARAMVALUE>""")
    value = decode_request(body).params["SystemSettings"].value
    assert value.classname == "KVM_VSSD" and value["ElementName"] == "web1"


CIMTEST_VSSD = """instance of KVM_VirtualSystemSettingData {
    InstanceID = "KVM:web1";
    VirtualSystemIdentifier = "web1";
    VirtualSystemType = "KVM";
    Bootloader = "/usr/bin/pygrub";
    AutomaticShutdownAction = 2;
    isFullVirt = True;
    BootOrder = {1, 2};
    Notes = "say \\"hi\\"\\n";
    Clock = NULL;
};
"""


@pytest.mark.parametrize("attribute", ['', ' EmbeddedObject="instance"'])
def test_mof_embedded_instance_is_decoded_with_or_without_the_attribute(attribute):
    escaped = CIMTEST_VSSD.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    body = methodcall("DefineSystem", f"""
<PARAMVALUE NAME="SystemSettings" PARAMTYPE="string"{attribute}><VALUE>{escaped}</VALUE></PARAMVALUE>
<PARAMVALUE NAME="ResourceSettings" PARAMTYPE="string"{attribute}><VALUE.ARRAY>
<VALUE>instance of KVM_MemResourceAllocationSettingData {{ InstanceID = "web1/mem";
 VirtualQuantity = 524288; ResourceType = 4; }};</VALUE>
<VALUE>  instance of KVM_ProcResourceAllocationSettingData {{ VirtualQuantity = 2; }};</VALUE>
</VALUE.ARRAY></PARAMVALUE>""")
    params = decode_request(body).params
    vssd = params["SystemSettings"].value
    assert vssd.classname == "KVM_VirtualSystemSettingData"
    assert vssd["InstanceID"] == "KVM:web1" and vssd["AutomaticShutdownAction"] == 2
    assert vssd["isFullVirt"] is True and vssd["BootOrder"] == [1, 2]
    assert vssd["Notes"] == 'say "hi"\n' and vssd["Clock"] is None
    assert vssd.properties["AutomaticShutdownAction"].type == "uint64"
    memory, processor = params["ResourceSettings"].value
    assert memory["VirtualQuantity"] == 524288 and processor["VirtualQuantity"] == 2


def test_escaped_cim_xml_without_the_attribute_is_decoded():
    inner = ('&lt;INSTANCE CLASSNAME="KVM_VSSD"&gt;&lt;PROPERTY NAME="InstanceID" TYPE="string"&gt;'
             "&lt;VALUE&gt;KVM:web1&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;")
    body = methodcall("DefineSystem", f'<PARAMVALUE NAME="S"><VALUE>{inner}</VALUE></PARAMVALUE>')
    assert decode_request(body).params["S"].value["InstanceID"] == "KVM:web1"


def test_embedded_instances_nest_inside_properties():
    innermost = CIMInstance("Inner", {"Depth": "2"})
    middle = CIMInstance("Middle", properties=[CIMProperty("Child", innermost,
                                                            embedded_object="instance")])
    outer = decode_embedded_object(CIMInstance(
        "Outer", properties=[CIMProperty("Child", middle, embedded_object="instance")]
    ).tocimxmlstr())
    assert outer["Child"]["Child"]["Depth"] == "2"


def test_plain_strings_stay_strings():
    body = methodcall("Echo", '<PARAMVALUE NAME="Text"><VALUE> an instance of nothing</VALUE>'
                              "</PARAMVALUE>")
    assert decode_request(body).params["Text"].value == " an instance of nothing"


# --------------------------------------------------------------------------
# bad requests


def assert_request_error(body: bytes, status: int, cim_error: str) -> RequestError:
    with pytest.raises(RequestError) as raised:
        decode_request(body)
    assert (raised.value.status, raised.value.cim_error) == (status, cim_error)
    return raised.value


def assert_invalid_parameter(body: bytes, *words: str) -> CallError:
    with pytest.raises(CallError) as raised:
        decode_request(body)
    error = raised.value
    assert error.error.status_code == CIM_ERR_INVALID_PARAMETER
    for word in words:
        assert word in error.error.status_description
    return error


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE CIM [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>
<IMETHODCALL NAME="GetQualifier"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/></LOCALNAMESPACEPATH>
<IPARAMVALUE NAME="QualifierName"><VALUE>&e;</VALUE></IPARAMVALUE></IMETHODCALL>
</SIMPLEREQ></MESSAGE></CIM>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<CIM CIMVERSION="2.0" DTDVERSION="2.0">&x;</CIM>"""


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    ("body", "status", "cim_error"),
    [
        (b"<CIM><MESSAGE", 400, "request-not-well-formed"),
        (b"", 400, "request-not-well-formed"),
        (BILLION_LAUGHS, 400, "request-not-well-formed"),
        (EXTERNAL_ENTITY, 400, "request-not-well-formed"),
        (b"<CIM>&undefined;</CIM>", 400, "request-not-well-formed"),
        (b"<A>" * 100 + b"</A>" * 100, 400, "request-not-well-formed"),
        (b"<CIM>" * 100000 + b"</CIM>" * 100000, 400, "request-not-well-formed"),
        (envelope("<IMETHODCALL/>").replace(b"2.0", b"\xff\xfe", 1), 400, "request-not-valid"),
        (envelope("").replace(b'CIMVERSION="2.0"', b'CIMVERSION="3.0"'), 501,
         "unsupported-cim-version"),
        (envelope("").replace(b'DTDVERSION="2.0"', b'DTDVERSION="1.1"'), 501,
         "unsupported-dtd-version"),
        (envelope("").replace(b'PROTOCOLVERSION="1.0"', b'PROTOCOLVERSION="2.0"'), 501,
         "unsupported-protocol-version"),
        (envelope("").replace(b"SIMPLEREQ", b"MULTIREQ"), 501, "multiple-requests-unsupported"),
        (b"<CIMX/>", 400, "request-not-valid"),
        (envelope(""), 400, "request-not-valid"),
        (envelope('<IMETHODCALL NAME="EnumerateClassNames"></IMETHODCALL>'), 400,
         "request-not-valid"),
        (envelope("<IMETHODCALL>" + LOCAL_NAMESPACE + "</IMETHODCALL>"), 400, "request-not-valid"),
        (imethodcall("GetClass", '<IPARAMVALUE NAME="ClassName"><CLASSNAME/></IPARAMVALUE>'), 400,
         "request-not-valid"),
        (imethodcall("GetClass", "<PARAMVALUE NAME='x'></PARAMVALUE>"), 400, "request-not-valid"),
        (envelope('<METHODCALL NAME="M">' + LOCAL_NAMESPACE + "</METHODCALL>"), 400,
         "request-not-valid"),
        (methodcall("M", '<PARAMVALUE NAME="a" EmbeddedObject="banana"><VALUE>x</VALUE></PARAMVALUE>'),
         400, "request-not-valid"),
    ],
    ids=["truncated", "empty", "billion-laughs", "external-entity", "undefined-entity",
         "deeper-than-64", "deeper-than-libxml2-allows", "invalid-utf8", "cim-version",
         "dtd-version", "protocol-version", "multireq", "wrong-root", "no-call",
         "no-namespace", "no-name", "classname-without-name", "paramvalue-in-imethodcall",
         "methodcall-without-target", "bad-embeddedobject"],
)
def test_bad_requests_get_the_dsp0200_http_error(body, status, cim_error):
    assert_request_error(body, status, cim_error)


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ('<IPARAMVALUE NAME="DeepInheritance"><VALUE>maybe</VALUE></IPARAMVALUE>',
         ("DeepInheritance", "maybe")),
        ('<IPARAMVALUE NAME="MaxObjectCount"><VALUE>abc</VALUE></IPARAMVALUE>',
         ("MaxObjectCount", "abc")),
        ('<IPARAMVALUE NAME="MaxObjectCount"><VALUE>4294967296</VALUE></IPARAMVALUE>',
         ("MaxObjectCount",)),
        ('<IPARAMVALUE NAME="OperationTimeout"><VALUE>1_000</VALUE></IPARAMVALUE>',
         ("OperationTimeout",)),
        ('<IPARAMVALUE NAME="ClassName"><VALUE>CIM_System</VALUE></IPARAMVALUE>',
         ("ClassName", "CLASSNAME")),
        ('<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE.NULL/></VALUE.ARRAY></IPARAMVALUE>',
         ("PropertyList",)),
        ('<IPARAMVALUE NAME="Role"><VALUE>a</VALUE></IPARAMVALUE>'
         '<IPARAMVALUE NAME="Role"><VALUE>b</VALUE></IPARAMVALUE>', ("Role", "twice")),
        ('<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X"><PROPERTY NAME="N" TYPE="uint16">'
         "<VALUE>70000</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>", ("NewInstance", "'N'", "70000")),
        ('<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X"><PROPERTY NAME="B" TYPE="boolean">'
         "<VALUE>yes</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>", ("'B'",)),
        ('<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X"><PROPERTY NAME="C" TYPE="char16">'
         "<VALUE>ab</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>", ("'C'",)),
        ('<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X"><PROPERTY NAME="D" TYPE="datetime">'
         "<VALUE>yesterday</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>", ("'D'", "yesterday")),
        ('<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X"><PROPERTY NAME="R" TYPE="real64">'
         "<VALUE>infinity</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>", ("'R'",)),
        ('<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="X"><PROPERTY NAME="E" TYPE="string" '
         'EmbeddedObject="instance"><VALUE>&lt;INSTANCE</VALUE></PROPERTY></INSTANCE></IPARAMVALUE>',
         ("'E'", "embedded")),
        ('<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="X"><KEYBINDING NAME="k">'
         '<KEYVALUE VALUETYPE="numeric">12abc</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>',
         ("key 'k'",)),
    ],
    ids=["boolean", "integer", "uint32-range", "python-only-integer", "wrong-element",
         "null-property-name", "twice", "uint16-range", "property-boolean", "char16",
         "datetime", "python-only-real", "broken-embedded", "numeric-key"],
)
def test_bad_intrinsic_values_are_invalid_parameter_errors(params, words):
    error = assert_invalid_parameter(imethodcall("EnumerateInstances", params), *words)
    assert (error.message_id, error.name, error.intrinsic) == ("4711", "EnumerateInstances", True)


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    "text",
    [
        'instance of X { A = "unterminated; };',
        "instance of X { A = 1 }",
        "instance of X { A = 1; }; instance of Y { };",
        "instance of X { A = {1, \"a\"}; };",
        "instance of X { A = " + "9" * 5000 + "; };",
        "instance of X { A = {" + "1," * 50000,
        'instance of X { A = "' + "\\" * 100001,
        "instance of X { A = @; };",
    ],
    ids=["unterminated-string", "missing-semicolon", "two-instances", "mixed-array",
         "huge-number", "unterminated-array", "backslashes", "junk"],
)
def test_bad_mof_in_a_method_parameter_is_unable_to_parse_embedded_object(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    body = methodcall("DefineSystem",
                      f'<PARAMVALUE NAME="SystemSettings"><VALUE>{escaped}</VALUE></PARAMVALUE>')
    with pytest.raises(CallError) as raised:
        decode_request(body)
    error = raised.value
    # libvirt-cim's code and words, which its clients compare.
    assert error.error.status_code == CIM_ERR_FAILED
    for word in ("SystemSettings", "MOF", "Unable to parse embedded object"):
        assert word in error.error.status_description
    assert error.intrinsic is False and error.name == "DefineSystem"


def test_a_mof_property_given_twice_keeps_its_last_value():
    body = methodcall("DefineSystem", '<PARAMVALUE NAME="SystemSettings"><VALUE>instance of '
                      'X { A = "first"; B = 1; a = "last"; };</VALUE></PARAMVALUE>')
    value = decode_request(body).params["SystemSettings"].value
    assert list(value.properties) == ["B", "a"] and value["A"] == "last"


def test_broken_cimxml_in_an_embedded_method_parameter_is_unable_to_parse_embedded_object():
    body = methodcall("DefineSystem", '<PARAMVALUE NAME="SystemSettings" EmbeddedObject="instance">'
                                      "<VALUE>&lt;INSTANCE CLASSNAME=</VALUE></PARAMVALUE>")
    with pytest.raises(CallError) as raised:
        decode_request(body)
    assert raised.value.error.status_code == CIM_ERR_FAILED
    assert "Unable to parse embedded object" in raised.value.error.status_description


def nested_instances(levels: int) -> CIMInstance:
    instance = CIMInstance("Leaf", {"A": "x"})
    for _ in range(levels - 1):
        instance = CIMInstance("Wrap", properties=[
            CIMProperty("Child", instance, embedded_object="instance")])
    return instance


@pytest.mark.timeout(5)
def test_embedded_objects_nested_too_deep_are_refused():
    assert decode_embedded_object(nested_instances(MAX_EMBEDDING).tocimxmlstr()).classname == "Wrap"
    with pytest.raises(pywbem.CIMError, match="nest deeper"):
        decode_embedded_object(nested_instances(MAX_EMBEDDING + 1).tocimxmlstr())
