"""A small schema and an instance with a value of every kind, for the query-engine tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pywbem import (
    CIM_ERR_INVALID_QUERY,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Real32,
    Uint16,
    Uint32,
    Uint64,
)

from virtcim.query import parse


@dataclass(frozen=True)
class Decl:
    name: str
    type: str
    is_array: bool = False
    embedded_object: str | None = None
    symbols: dict[str, object] = field(default_factory=dict)


_ELEMENT = [Decl("Caption", "string"), Decl("ElementName", "string")]
_THING = _ELEMENT + [
    Decl("Name", "string"), Decl("State", "uint16", symbols={"enabled": 2, "disabled": 3, "not applicable": 5}), Decl("Memory", "uint64"),
    Decl("Load", "real32"), Decl("Enabled", "boolean"), Decl("Letter", "char16"),
    Decl("Tags", "string", True), Decl("Sizes", "uint32", True), Decl("Empty", "string", True),
    Decl("NullArray", "string", True), Decl("Created", "datetime"),
    Decl("Uptime", "datetime"), Decl("Host", "reference"),
    Decl("Setting", "string", embedded_object="instance"), Decl("Quote", "string"),
    Decl("Folder", "string"), Decl("Dates", "datetime", True),
]
CLASSES: dict[str, tuple[str | None, list[Decl]]] = {
    "T_Element": (None, _ELEMENT),
    "T_Thing": ("T_Element", _THING),
    "T_KVMThing": ("T_Thing", _THING + [Decl("Emulator", "string")]),
    "T_Host": ("T_Element", _ELEMENT + [Decl("Name", "string")]),
    "T_Setting": (None, [Decl("InstanceID", "string"), Decl("Size", "uint64"),
                         Decl("Tags", "string", True)]),
    "T_InstModification": (None, [Decl("SourceInstance", "string", embedded_object="object"),
                                  Decl("PreviousInstance", "string", embedded_object="object")]),
}


class FakeSchema:
    def properties(self, classname):
        found = _lookup(classname)
        return None if found is None else {d.name.lower(): d for d in CLASSES[found][1]}

    def is_a(self, classname, ancestor):
        name = _lookup(classname)
        while name is not None:
            if name.lower() == ancestor.lower():
                return True
            name = CLASSES[name][0]
        return False


def _lookup(classname):
    return next((name for name in CLASSES if name.lower() == classname.lower()), None)


HOST = CIMInstanceName("T_Host", {"Name": "h1"}, namespace="root/test")


def thing(classname: str = "T_KVMThing", **changes) -> CIMInstance:
    """The instance the evaluation tests read; ``changes`` replace property values."""
    setting = CIMInstance("T_Setting", properties={
        "InstanceID": "s1", "Size": Uint64(10), "Tags": ["x", "y"]})
    values = {
        "Caption": None, "ElementName": "Web server", "Name": "web1", "State": Uint16(2),
        "Memory": Uint64(4096), "Load": Real32(0.5), "Enabled": True, "Letter": "w",
        "Tags": ["a", "b", "web"], "Sizes": [Uint32(1), Uint32(2), Uint32(3)], "Empty": [],
        "NullArray": None, "Created": CIMDateTime("20240301120000.000000+000"),
        "Uptime": CIMDateTime("00000001020304.000000:000"), "Host": HOST,
        "Setting": setting, "Quote": "it's \"q\"", "Folder": "C:\\dir\\x",
        "Dates": [CIMDateTime("20240101000000.000000+000")], "Emulator": "qemu",
    }
    values.update(changes)
    decls = {d.name: d for d in CLASSES["T_KVMThing"][1]}
    props = []
    for name, value in values.items():
        decl = decls[name]
        props.append(CIMProperty(name, value, type=decl.type, is_array=decl.is_array,
                                 embedded_object=decl.embedded_object,
                                 reference_class="T_Host" if decl.type == "reference" else None))
    return CIMInstance(classname, properties=props,
                       path=CIMInstanceName(classname, {"Name": values["Name"]}))


def assert_invalid(position: int, words: str, language: str, text: str, **options) -> None:
    """``parse(language, text, **options)`` is CIM_ERR_INVALID_QUERY naming ``position``
    (from 1) and saying ``words``."""
    with pytest.raises(CIMError) as exc:
        parse(language, text, **options)
    assert exc.value.status_code == CIM_ERR_INVALID_QUERY
    message = exc.value.status_description
    assert f"at position {position}:" in message and words in message, message
