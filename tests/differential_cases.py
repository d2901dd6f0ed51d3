"""The same operations against pywbem_mock and against virtcim, compared.

``reference`` is a ``pywbem_mock.FakedWBEMConnection`` loaded with the MOF
below. ``conn`` is the connection under test; it exposes pywbem's
``WBEMConnection`` method names and result shapes. Here it is a small adapter
that builds :class:`IntrinsicCall` objects and calls a :class:`Dispatcher`
directly; a real ``pywbem.WBEMConnection`` pointed at a running server can be
added to its parameters unchanged.

Results are compared structurally: sets of paths, instance properties by
name, hosts ignored.

Where pywbem_mock departs from DSP0200 the comparison avoids the case and
says so:

* it stores only the properties an instance's MOF sets (DSP0004 gives the
  others their class default), so every instance below sets every property;
* it never returns class origins on instances (``IGNORE_INSTANCE_ICO_PARAM``),
  so instance class origins are compared stripped and checked on virtcim alone;
* on Open* without MaxObjectCount it returns up to 100 objects, where DSP0200
  says 0, so the comparisons always send MaxObjectCount;
* it ignores FilterQuery, ContinueOnError and OperationTimeout (not compared);
* class-level References/Associators include qualifiers unless told
  otherwise (DSP0200's default is false), so IncludeQualifiers is always sent.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest
import pywbem_mock
from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMQualifierDeclaration,
)

from virtcim.cimxml.messages import IntrinsicCall
from virtcim.operations import Dispatcher, register_static_instances
from virtcim.provider import ProviderRegistry
from virtcim.repository.compile import compile_mof_strings

NS = "root/diff"

SCHEMA = """
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride);
Qualifier Description : string = null, Scope(any), Flavor(Translatable);
Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(Restricted);

[Description("Something owned")]
class D_Thing {
    [Key, Description("Its id")] string Id;
    string Label;
    uint32 Size = 7;
};

class D_BigThing : D_Thing {
    string Extra;
};

class D_Owner {
    [Key] string Name;
    string Email;
};

[Association, Description("Who owns what")]
class D_Owns {
    [Key] D_Owner REF Owner;
    [Key] D_Thing REF Owned;
};

[Association]
class D_Near {
    [Key] D_Thing REF A;
    [Key] D_Thing REF B;
};
"""

INSTANCES = """
instance of D_Owner as $o1 { Name = "o1"; Email = "o1@example.org"; };
instance of D_Owner as $o2 { Name = "o2"; Email = "o2@example.org"; };
instance of D_Thing as $t1 { Id = "t1"; Label = "one"; Size = 1; };
instance of D_Thing as $t2 { Id = "t2"; Label = "two"; Size = 2; };
instance of D_BigThing as $b1 { Id = "b1"; Label = "big"; Size = 10; Extra = "e"; };
instance of D_Owns { Owner = $o1; Owned = $t1; };
instance of D_Owns { Owner = $o1; Owned = $b1; };
instance of D_Owns { Owner = $o2; Owned = $t2; };
instance of D_Near { A = $t1; B = $b1; };
"""

OpenInstances = namedtuple("OpenInstances", ["instances", "eos", "context"])
OpenPaths = namedtuple("OpenPaths", ["paths", "eos", "context"])


class DispatcherConnection:
    """The pywbem ``WBEMConnection`` methods the comparison uses, over a Dispatcher."""

    def __init__(self, dispatcher: Dispatcher, default_namespace: str) -> None:
        self.dispatcher = dispatcher
        self.default_namespace = default_namespace

    def _call(self, name: str, namespace: str | None, **params: Any) -> Any:
        sent = {key: value for key, value in params.items() if value is not None}
        call = IntrinsicCall("1", name, namespace or self.default_namespace, sent)
        result = self.dispatcher.intrinsic(call)
        if isinstance(result, (list, map)) or hasattr(result, "__next__"):
            return list(result)
        return result

    def _target(self, path: Any, namespace: str | None) -> tuple[Any, str]:
        if isinstance(path, str):
            path = CIMClassName(path)
        namespace = path.namespace or namespace or self.default_namespace
        path = path.copy()
        path.namespace = namespace
        return path, namespace

    def GetClass(self, ClassName, namespace=None, **flags):
        return self._call("GetClass", namespace, ClassName=ClassName, **flags)

    def EnumerateClasses(self, namespace=None, **flags):
        return self._call("EnumerateClasses", namespace, **flags)

    def EnumerateClassNames(self, namespace=None, **flags):
        return self._call("EnumerateClassNames", namespace, **flags)

    def GetQualifier(self, QualifierName, namespace=None):
        return self._call("GetQualifier", namespace, QualifierName=QualifierName)

    def EnumerateQualifiers(self, namespace=None):
        return self._call("EnumerateQualifiers", namespace)

    def EnumerateInstances(self, ClassName, namespace=None, **flags):
        return self._call("EnumerateInstances", namespace, ClassName=ClassName, **flags)

    def EnumerateInstanceNames(self, ClassName, namespace=None):
        return self._call("EnumerateInstanceNames", namespace, ClassName=ClassName)

    def GetInstance(self, InstanceName, **flags):
        path, namespace = self._target(InstanceName, None)
        return self._call("GetInstance", namespace, InstanceName=path, **flags)

    def _association(self, operation, ObjectName, **flags):
        path, namespace = self._target(ObjectName, None)
        found = self._call(operation, namespace, ObjectName=path, **flags)
        if isinstance(path, CIMClassName) and operation in ("Associators", "References"):
            return [(cls.path, cls) for cls in found]
        return found

    def Associators(self, ObjectName, **flags):
        return self._association("Associators", ObjectName, **flags)

    def AssociatorNames(self, ObjectName, **flags):
        return self._association("AssociatorNames", ObjectName, **flags)

    def References(self, ObjectName, **flags):
        return self._association("References", ObjectName, **flags)

    def ReferenceNames(self, ObjectName, **flags):
        return self._association("ReferenceNames", ObjectName, **flags)

    def _open(self, operation, namespace, shape, **params):
        result = self._call(operation, namespace, **params)
        context = None if result.end_of_sequence else (result.context, namespace)
        return shape(result.items, result.end_of_sequence, context)

    def OpenEnumerateInstances(self, ClassName, namespace=None, **params):
        return self._open("OpenEnumerateInstances", namespace or self.default_namespace,
                          OpenInstances, ClassName=ClassName, **params)

    def OpenEnumerateInstancePaths(self, ClassName, namespace=None, **params):
        return self._open("OpenEnumerateInstancePaths", namespace or self.default_namespace,
                          OpenPaths, ClassName=ClassName, **params)

    def _open_from(self, operation, shape, InstanceName, **params):
        path, namespace = self._target(InstanceName, None)
        return self._open(operation, namespace, shape, InstanceName=path, **params)

    def OpenAssociatorInstances(self, InstanceName, **params):
        return self._open_from("OpenAssociatorInstances", OpenInstances, InstanceName, **params)

    def OpenAssociatorInstancePaths(self, InstanceName, **params):
        return self._open_from("OpenAssociatorInstancePaths", OpenPaths, InstanceName,
                               **params)

    def OpenReferenceInstances(self, InstanceName, **params):
        return self._open_from("OpenReferenceInstances", OpenInstances, InstanceName, **params)

    def OpenReferenceInstancePaths(self, InstanceName, **params):
        return self._open_from("OpenReferenceInstancePaths", OpenPaths, InstanceName, **params)

    def PullInstancesWithPath(self, context, MaxObjectCount):
        return self._open("PullInstancesWithPath", context[1], OpenInstances,
                          EnumerationContext=context[0], MaxObjectCount=MaxObjectCount)

    def PullInstancePaths(self, context, MaxObjectCount):
        return self._open("PullInstancePaths", context[1], OpenPaths,
                          EnumerationContext=context[0], MaxObjectCount=MaxObjectCount)

    def CloseEnumeration(self, context):
        return self._call("CloseEnumeration", context[1], EnumerationContext=context[0])


@pytest.fixture(scope="module")
def reference():
    mock = pywbem_mock.FakedWBEMConnection(default_namespace=NS)
    mock.compile_mof_string(SCHEMA, namespace=NS)
    mock.compile_mof_string(INSTANCES, namespace=NS)
    return mock


@pytest.fixture(scope="module")
def virtcim_connection():
    repository = compile_mof_strings([SCHEMA], [NS], instance_mof={NS: [INSTANCES]})
    registry = ProviderRegistry()
    register_static_instances(registry, repository)
    dispatcher = Dispatcher(repository, registry, host="virtcim.example")
    yield DispatcherConnection(dispatcher, NS)
    dispatcher.close()


@pytest.fixture(params=["virtcim"])
def conn(request):
    """The connection under test (add a real-HTTP WBEMConnection here)."""
    return request.getfixturevalue(f"{request.param}_connection")


# -- normal forms ----------------------------------------------------------------


def path_form(path: Any) -> Any:
    if isinstance(path, CIMClassName):
        return ("class", path.namespace, path.classname.lower())
    return (path.namespace, path.classname.lower(),
            tuple(sorted((k.lower(), value_form(v)) for k, v in path.keybindings.items())))


def value_form(value: Any) -> Any:
    if isinstance(value, (CIMInstanceName, CIMClassName)):
        return path_form(value)
    if isinstance(value, list):
        return tuple(value_form(v) for v in value)
    return value


def instance_form(inst: CIMInstance) -> Any:
    props = tuple(sorted((name.lower(), prop.type, value_form(prop.value))
                         for name, prop in inst.properties.items()))
    return (path_form(inst.path), props)


#: What an absent flavor means in CIM-XML (DSP0201): on the wire, an unset
#: flavor and its default cannot be told apart.
FLAVOR_DEFAULTS = {"overridable": True, "tosubclass": True,
                   "translatable": False, "toinstance": False}


ALL_SCOPES = {"CLASS", "ASSOCIATION", "INDICATION", "PROPERTY", "REFERENCE", "METHOD",
              "PARAMETER"}


def with_default_flavors(qualifier: Any) -> Any:
    for flavor, default in FLAVOR_DEFAULTS.items():
        if getattr(qualifier, flavor) is None:
            setattr(qualifier, flavor, default)
    return qualifier


def class_form(cls: CIMClass) -> str:
    shown = cls.copy()
    shown.path = None
    owners = [shown, *shown.properties.values(), *shown.methods.values(),
              *(p for m in shown.methods.values() for p in m.parameters.values())]
    for owner in owners:
        for qualifier in owner.qualifiers.values():
            with_default_flavors(qualifier)
    return repr(shown)


def qualifier_declaration_form(decl: CIMQualifierDeclaration) -> Any:
    shown = with_default_flavors(decl.copy())
    # CIM-XML has no ANY scope: it is sent as every scope.
    scopes = ALL_SCOPES if shown.scopes.get("ANY") else {
        scope.upper() for scope, on in shown.scopes.items() if on}
    return (repr(shown.name), shown.type, shown.is_array, repr(shown.value),
            tuple(sorted(scopes)),
            tuple(getattr(shown, flavor) for flavor in FLAVOR_DEFAULTS))


def form(result: Any) -> Any:
    """A comparable, order-free form of any operation result."""
    if isinstance(result, list):
        return sorted((form(item) for item in result), key=repr)
    if isinstance(result, tuple) and hasattr(result, "eos"):
        return (form(list(result[0])), result.eos)
    if isinstance(result, tuple):
        return tuple(form(item) for item in result)
    if isinstance(result, CIMInstance):
        return instance_form(result)
    if isinstance(result, CIMClass):
        return class_form(result)
    if isinstance(result, CIMQualifierDeclaration):
        return qualifier_declaration_form(result)
    if isinstance(result, (CIMInstanceName, CIMClassName)):
        return path_form(result)
    return repr(result)


def same(conn, reference, operation: str, *args: Any, **kwargs: Any) -> Any:
    ours = getattr(conn, operation)(*args, **kwargs)
    theirs = getattr(reference, operation)(*args, **kwargs)
    assert form(ours) == form(theirs)
    return ours


def same_error(conn, reference, operation: str, *args: Any, **kwargs: Any) -> int:
    codes = []
    for side in (conn, reference):
        with pytest.raises(CIMError) as exc:
            result = getattr(side, operation)(*args, **kwargs)
            list(result) if isinstance(result, list) else None
        codes.append(exc.value.status_code)
    assert codes[0] == codes[1]
    return codes[0]


def owner(name: str) -> CIMInstanceName:
    return CIMInstanceName("D_Owner", {"Name": name}, namespace=NS)


def thing(ident: str, classname: str = "D_Thing") -> CIMInstanceName:
    return CIMInstanceName(classname, {"Id": ident}, namespace=NS)


# -- classes and qualifiers --------------------------------------------------------


@pytest.mark.parametrize("flags", [
    {},
    {"LocalOnly": False},
    {"LocalOnly": False, "IncludeQualifiers": False},
    {"LocalOnly": False, "IncludeClassOrigin": True},
    {"LocalOnly": True, "IncludeQualifiers": True},
    {"LocalOnly": False, "PropertyList": ["label", "Extra"]},
    {"LocalOnly": False, "PropertyList": []},
])
@pytest.mark.parametrize("classname", ["D_Thing", "D_BigThing", "D_Owns"])
def test_get_class(conn, reference, classname, flags):
    same(conn, reference, "GetClass", classname, **flags)


@pytest.mark.parametrize("flags", [
    {},
    {"DeepInheritance": True},
    {"ClassName": "D_Thing"},
    # pywbem_mock ignores IncludeClassOrigin on EnumerateClasses (its GetClass
    # honours it); virtcim's class origins are checked in test_operations_classes.
    {"ClassName": "D_Thing", "DeepInheritance": True, "LocalOnly": False,
     "IncludeQualifiers": False},
])
def test_enumerate_classes_and_names(conn, reference, flags):
    same(conn, reference, "EnumerateClasses", **flags)
    names_flags = {k: v for k, v in flags.items() if k in ("ClassName", "DeepInheritance")}
    same(conn, reference, "EnumerateClassNames", **names_flags)


def test_qualifiers(conn, reference):
    same(conn, reference, "GetQualifier", "Key")
    same(conn, reference, "EnumerateQualifiers")
    assert same_error(conn, reference, "GetQualifier", "Nope") == CIM_ERR_NOT_FOUND


def test_class_errors(conn, reference):
    # DSP0200 names NOT_FOUND for GetClass of a missing class, INVALID_CLASS elsewhere.
    assert same_error(conn, reference, "GetClass", "D_Nope") == CIM_ERR_NOT_FOUND
    assert same_error(conn, reference, "GetClass", "D_Thing",
                      namespace="root/nope") == CIM_ERR_INVALID_NAMESPACE
    assert same_error(conn, reference, "EnumerateClasses",
                      ClassName="D_Nope") == CIM_ERR_INVALID_CLASS


# -- instances -------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [
    {},
    {"DeepInheritance": False},
    {"PropertyList": ["Label", "extra"]},
    {"PropertyList": []},
    {"DeepInheritance": False, "PropertyList": ["Size", "Extra"]},
    {"IncludeQualifiers": True, "LocalOnly": True},
])
@pytest.mark.parametrize("classname", ["D_Thing", "D_BigThing", "D_Owns"])
def test_enumerate_instances(conn, reference, classname, flags):
    same(conn, reference, "EnumerateInstances", classname, **flags)


def test_include_class_origin_on_instances(conn, reference):
    ours = conn.EnumerateInstances("D_BigThing", IncludeClassOrigin=True)
    for inst in ours:
        assert inst.properties["Label"].class_origin == "D_Thing"
        assert inst.properties["Extra"].class_origin == "D_BigThing"
        for prop in inst.properties.values():
            prop.class_origin = None
    assert form(ours) == form(reference.EnumerateInstances("D_BigThing",
                                                           IncludeClassOrigin=True))


@pytest.mark.parametrize("classname", ["D_Thing", "D_BigThing", "D_Owner", "D_Owns"])
def test_enumerate_instance_names(conn, reference, classname):
    same(conn, reference, "EnumerateInstanceNames", classname)


@pytest.mark.parametrize("path", [thing("t1"), thing("b1", "D_BigThing"), owner("o2")])
@pytest.mark.parametrize("flags", [{}, {"PropertyList": ["Label"]}])
def test_get_instance(conn, reference, path, flags):
    same(conn, reference, "GetInstance", path, **flags)


def test_instance_errors(conn, reference):
    assert same_error(conn, reference, "GetInstance", thing("zz")) == CIM_ERR_NOT_FOUND
    assert same_error(conn, reference, "GetInstance",
                      CIMInstanceName("D_Nope", {"Id": "t1"}, namespace=NS)
                      ) == CIM_ERR_INVALID_CLASS
    assert same_error(conn, reference, "GetInstance",
                      CIMInstanceName("D_Thing", {"Id": "t1"}, namespace="root/nope")
                      ) == CIM_ERR_INVALID_NAMESPACE
    assert same_error(conn, reference, "EnumerateInstances", "D_Nope") == CIM_ERR_INVALID_CLASS
    assert same_error(conn, reference, "EnumerateInstanceNames", "D_Thing",
                      namespace="root/nope") == CIM_ERR_INVALID_NAMESPACE


# -- associations --------------------------------------------------------------------

ASSOCIATOR_FILTERS = [
    {},
    {"AssocClass": "D_Owns"},
    {"AssocClass": "D_Near"},
    {"ResultClass": "D_BigThing"},
    {"ResultClass": "D_Owner"},
    {"Role": "Owned"},
    {"Role": "A"},
    {"Role": "B", "ResultRole": "A"},
    {"ResultRole": "Owner"},
    {"AssocClass": "D_Owns", "ResultRole": "Owned"},
]
REFERENCE_FILTERS = [{}, {"ResultClass": "D_Near"}, {"Role": "Owned"}, {"Role": "B"},
                     {"ResultClass": "D_Owns", "Role": "Owner"}]
SOURCES = [thing("t1"), thing("b1", "D_BigThing"), owner("o1"), thing("t2")]


@pytest.mark.parametrize("flt", ASSOCIATOR_FILTERS)
@pytest.mark.parametrize("source", SOURCES)
def test_associators(conn, reference, source, flt):
    same(conn, reference, "AssociatorNames", source, **flt)
    same(conn, reference, "Associators", source, **flt)


@pytest.mark.parametrize("flt", REFERENCE_FILTERS)
@pytest.mark.parametrize("source", SOURCES)
def test_references(conn, reference, source, flt):
    same(conn, reference, "ReferenceNames", source, **flt)
    same(conn, reference, "References", source, **flt)


def test_association_property_list(conn, reference):
    same(conn, reference, "Associators", owner("o1"), PropertyList=["Label"])
    same(conn, reference, "References", owner("o1"), PropertyList=["Owned"])


@pytest.mark.parametrize("flt", [{}, {"Role": "Owned"}, {"ResultClass": "D_Owns"}])
def test_class_level_references(conn, reference, flt):
    same(conn, reference, "ReferenceNames", "D_Thing", **flt)
    same(conn, reference, "References", "D_Thing", IncludeQualifiers=True, **flt)


@pytest.mark.parametrize("flt", [{}, {"AssocClass": "D_Owns"}, {"ResultClass": "D_Owner"},
                                 {"Role": "Owner"}, {"ResultRole": "A"}])
def test_class_level_associators(conn, reference, flt):
    same(conn, reference, "AssociatorNames", "D_Owner", **flt)
    same(conn, reference, "Associators", "D_Owner", IncludeQualifiers=False, **flt)


@pytest.mark.parametrize("flt", [{"AssocClass": "D_Nope"}, {"ResultClass": "D_Nope"}])
def test_association_errors(conn, reference, flt):
    assert same_error(conn, reference, "AssociatorNames", thing("t1"),
                      **flt) == CIM_ERR_INVALID_PARAMETER


# -- pulled enumerations --------------------------------------------------------------


def pulled(side, operation: str, *args: Any, page: int = 2, **kwargs: Any) -> tuple[Any, int]:
    first = getattr(side, operation)(*args, MaxObjectCount=page, **kwargs)
    items, result, pulls = list(first[0]), first, 0
    pull = "PullInstancePaths" if "Paths" in operation else "PullInstancesWithPath"
    while not result.eos:
        result = getattr(side, pull)(result.context, MaxObjectCount=page)
        items.extend(result[0])
        pulls += 1
    return form(items), pulls


@pytest.mark.parametrize("operation, args, kwargs", [
    ("OpenEnumerateInstances", ("D_Thing",), {}),
    ("OpenEnumerateInstances", ("D_Thing",), {"DeepInheritance": False,
                                              "PropertyList": ["Label"]}),
    ("OpenEnumerateInstancePaths", ("D_Thing",), {}),
    ("OpenAssociatorInstances", (owner("o1"),), {}),
    ("OpenAssociatorInstancePaths", (thing("t1"),), {"ResultClass": "D_Owner"}),
    ("OpenReferenceInstances", (owner("o1"),), {"Role": "Owner"}),
    ("OpenReferenceInstancePaths", (thing("b1", "D_BigThing"),), {}),
])
@pytest.mark.parametrize("page", [1, 2, 10])
def test_pulled_enumerations(conn, reference, operation, args, kwargs, page):
    assert pulled(conn, operation, *args, page=page, **kwargs) == pulled(
        reference, operation, *args, page=page, **kwargs)


def test_close_enumeration(conn, reference):
    for side in (conn, reference):
        first = side.OpenEnumerateInstancePaths("D_Thing", MaxObjectCount=1)
        side.CloseEnumeration(first.context)
    assert same_error_for_closed(conn) == same_error_for_closed(reference) == (
        CIM_ERR_INVALID_ENUMERATION_CONTEXT)


def same_error_for_closed(side) -> int:
    first = side.OpenEnumerateInstancePaths("D_Thing", MaxObjectCount=1)
    side.CloseEnumeration(first.context)
    with pytest.raises(CIMError) as exc:
        side.PullInstancePaths(first.context, MaxObjectCount=1)
    return exc.value.status_code


def test_open_errors(conn, reference):
    assert same_error(conn, reference, "OpenEnumerateInstances", "D_Nope",
                      MaxObjectCount=1) == CIM_ERR_INVALID_CLASS
    assert same_error(conn, reference, "OpenAssociatorInstances", thing("t1"),
                      ResultClass="D_Nope", MaxObjectCount=1) == CIM_ERR_INVALID_PARAMETER
