"""The CIM-XML elements that hold CIM objects, read into pywbem objects (DSP0201), without I/O.

Values, class and instance paths, instances, classes, qualifiers and the
embedded objects inside them, each read from its element by one function
here; :mod:`virtcim.cimxml.decode` reads the request around them. Everything
is read with one hardened lxml parser (no DTD, no entities, no network, a
depth cap) and checked against the bounds of :mod:`virtcim.cimxml.limits`.

An element that is not what DSP0201 allows at its place raises
:class:`Malformed` (the request is answered with an HTTP error); a value
that cannot be read as its type raises ``CIMError(CIM_ERR_INVALID_PARAMETER)``.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree
from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
    CIMParameter,
    CIMProperty,
    CIMQualifier,
    CIMQualifierDeclaration,
)

from virtcim.cimxml.limits import MAX_ARRAY_ITEMS, MAX_PARAMETERS, MAX_VALUE_CHARS
from virtcim.cimxml.mofinstance import looks_like_mof_instance, parse_mof_instance
from virtcim.cimxml.values import parse_boolean, parse_numeric, parse_value

__all__ = [
    "MAX_DEPTH",
    "MAX_EMBEDDING",
    "Malformed",
    "VALUE_ELEMENTS",
    "any_value",
    "array_items",
    "check_sizes",
    "child_elements",
    "decode_embedded_object",
    "element_text",
    "embedded_attribute",
    "invalid",
    "local_namespace_path",
    "only_child",
    "parse_xml",
    "read_class",
    "read_classname",
    "read_instance",
    "read_instancename",
    "read_named_instance",
    "read_path",
    "read_qualifier_declaration",
    "read_reference",
    "required_attribute",
]

#: Deepest element nesting accepted, in a request or an embedded object. Real
#: requests stay below 20 levels.
MAX_DEPTH = 64
#: How many embedded objects may nest inside one another.
MAX_EMBEDDING = 8


class _ThreadTools(threading.local):
    """The hardened parser and the depth tests, one set per thread.

    lxml lets one parser (or XPath) serve one thread at a time and makes the
    others wait: shared, they serialise the server's worker threads.
    """

    def __init__(self) -> None:
        self.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        self.depth_tests: dict[int, etree.XPath] = {}
        self.largest_array = etree.XPath(
            "(//VALUE.ARRAY[count(*) > $items] | //VALUE.REFARRAY[count(*) > $items])[1]"
        )
        self.longest_text = etree.XPath("(//text()[string-length(.) > $chars])[1]")

    def deeper_than(self, depth: int) -> etree.XPath:
        """An XPath test, evaluated in C in time linear in the element count."""
        test = self.depth_tests.get(depth)
        if test is None:
            test = self.depth_tests[depth] = etree.XPath("boolean(/*" + "/*" * depth + ")")
        return test


_TOOLS = _ThreadTools()
_EMBEDDED_ATTRIBUTES = ("EmbeddedObject", "EMBEDDEDOBJECT")


class Malformed(Exception):
    """The elements are not what DSP0201 allows at this place."""


# --------------------------------------------------------------------------
# documents


def decode_embedded_object(text: str, embedding: int = 0) -> CIMInstance | CIMClass:
    """An embedded object sent as a string: escaped CIM-XML or MOF text.

    ``embedding`` counts the objects this one is nested in.
    Raises ``CIMError(CIM_ERR_INVALID_PARAMETER)``.
    """
    if embedding >= MAX_EMBEDDING:
        raise invalid(f"embedded objects nest deeper than {MAX_EMBEDDING} levels")
    if looks_like_mof_instance(text):
        return parse_mof_instance(text)
    try:
        root = parse_xml(text.encode("utf-8"), MAX_DEPTH)
        check_sizes(root)
        if root.tag == "INSTANCE":
            return read_instance(root, embedding + 1)
        if root.tag == "CLASS":
            return read_class(root, embedding + 1)
        raise Malformed(f"expected INSTANCE or CLASS, found {root.tag}")
    except Malformed as exc:
        raise invalid(f"embedded object is not valid CIM-XML: {exc}") from None


def parse_xml(data: bytes, max_depth: int) -> Any:
    """The root element of ``data``, parsed with the hardened parser; :class:`Malformed` for
    text that is not XML, holds a DOCTYPE or nests deeper than ``max_depth``."""
    try:
        root = etree.fromstring(data, _TOOLS.parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Malformed(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise Malformed("a DOCTYPE is not allowed in CIM-XML")
    if _TOOLS.deeper_than(max_depth)(root):
        raise Malformed(f"elements nest deeper than {max_depth} levels")
    return root


def check_sizes(element: Any, parameters: bool = False) -> None:
    """Refuse arrays, values and (for a call) parameter lists over the bounds of
    :mod:`virtcim.cimxml.limits`; the XPath tests run in C, in linear time."""
    if parameters and len(element) > MAX_PARAMETERS + 1:  # + the namespace or target
        raise invalid(f"more than {MAX_PARAMETERS} parameters")
    array = _TOOLS.largest_array(element, items=MAX_ARRAY_ITEMS)
    if array:
        raise invalid(
            f"an array of {len(array[0])} items is over the limit of {MAX_ARRAY_ITEMS}"
        )
    text = _TOOLS.longest_text(element, chars=MAX_VALUE_CHARS)
    if text:
        raise invalid(
            f"a value of {len(text[0])} characters is over the limit of {MAX_VALUE_CHARS}"
        )


def invalid(message: str) -> CIMError:
    """The error of a value that cannot be read as what it must be."""
    return CIMError(CIM_ERR_INVALID_PARAMETER, message)


# --------------------------------------------------------------------------
# values


VALUE_ELEMENTS = (
    "VALUE", "VALUE.ARRAY", "VALUE.REFERENCE", "VALUE.REFARRAY", "CLASSNAME",
    "INSTANCENAME", "CLASS", "INSTANCE", "VALUE.NAMEDINSTANCE", "QUALIFIER.DECLARATION",
)


def any_value(element: Any) -> Any:
    """Any parameter value, by its element, as the wire gave it."""
    tag = element.tag
    if tag == "VALUE":
        return element_text(element)
    if tag == "VALUE.ARRAY":
        return array_items(element)
    if tag == "VALUE.REFERENCE":
        return read_reference(element)
    if tag == "VALUE.REFARRAY":
        return [None if item.tag == "VALUE.NULL" else read_reference(item)
                for item in child_elements(element, ("VALUE.REFERENCE", "VALUE.NULL"))]
    if tag == "CLASSNAME":
        return read_classname(element)
    if tag == "INSTANCENAME":
        return read_instancename(element)
    if tag == "INSTANCE":
        return read_instance(element, 0)
    if tag == "VALUE.NAMEDINSTANCE":
        return read_named_instance(element)
    if tag == "CLASS":
        return read_class(element, 0)
    return read_qualifier_declaration(element)


def array_items(element: Any) -> list[str | None]:
    return [None if item.tag == "VALUE.NULL" else element_text(item)
            for item in child_elements(element, ("VALUE", "VALUE.NULL"))]


def _typed(text: str, cimtype: str, what: str) -> Any:
    try:
        return parse_value(text, cimtype)
    except ValueError as exc:
        raise invalid(f"{what}: {exc}") from None


# --------------------------------------------------------------------------
# paths


def read_path(element: Any) -> CIMInstanceName | CIMClassName:
    """Any of the six class and instance path elements."""
    tag = element.tag
    if tag == "CLASSNAME":
        return read_classname(element)
    if tag == "INSTANCENAME":
        return read_instancename(element)
    namespace_element, name_element = _two_children(element)
    if tag in ("LOCALCLASSPATH", "LOCALINSTANCEPATH"):
        host, namespace = None, local_namespace_path(_expect(namespace_element, "LOCALNAMESPACEPATH"))
    else:
        host, namespace = _namespace_path(_expect(namespace_element, "NAMESPACEPATH"))
    name_tag = "CLASSNAME" if tag.endswith("CLASSPATH") else "INSTANCENAME"
    path = read_path(_expect(name_element, name_tag))
    path.namespace = namespace
    path.host = host
    return path


def read_reference(element: Any) -> CIMInstanceName | CIMClassName:
    target = only_child(element, _PATH_ELEMENTS)
    return read_path(target)


_PATH_ELEMENTS = (
    "CLASSPATH", "LOCALCLASSPATH", "CLASSNAME", "INSTANCEPATH", "LOCALINSTANCEPATH", "INSTANCENAME",
)


def _namespace_path(element: Any) -> tuple[str, str]:
    host, local = _two_children(element)
    return element_text(_expect(host, "HOST")), local_namespace_path(_expect(local, "LOCALNAMESPACEPATH"))


def local_namespace_path(element: Any) -> str:
    parts = [required_attribute(child, "NAME") for child in child_elements(element, ("NAMESPACE",))]
    if not parts:
        raise Malformed("LOCALNAMESPACEPATH holds no NAMESPACE")
    return "/".join(parts)


def read_classname(element: Any) -> CIMClassName:
    return CIMClassName(required_attribute(element, "NAME"))


def read_instancename(element: Any) -> CIMInstanceName:
    classname = required_attribute(element, "CLASSNAME")
    keybindings: dict[str, Any] = {}
    for binding in child_elements(element, ("KEYBINDING",)):
        key = required_attribute(binding, "NAME")
        value = only_child(binding, ("KEYVALUE", "VALUE.REFERENCE"))
        if value.tag == "KEYVALUE":
            keybindings[key] = _keyvalue(value, f"key {key!r} of {classname}")
        else:
            keybindings[key] = read_reference(value)
    return CIMInstanceName(classname, keybindings)


def _keyvalue(element: Any, what: str) -> Any:
    text = element_text(element)
    cimtype = element.get("TYPE")
    if cimtype:
        return _typed(text, cimtype, what)
    valuetype = element.get("VALUETYPE", "string")
    if valuetype == "string":
        return text
    if valuetype == "boolean":
        return _typed(text, "boolean", what)
    if valuetype != "numeric":
        raise Malformed(f"KEYVALUE VALUETYPE {valuetype!r} is not string, boolean or numeric")
    try:
        return parse_numeric(text)
    except ValueError as exc:
        raise invalid(f"{what}: {exc}") from None


# --------------------------------------------------------------------------
# instances and classes


def read_named_instance(element: Any) -> CIMInstance:
    name_element, instance_element = _two_children(element)
    instance = read_instance(_expect(instance_element, "INSTANCE"), 0)
    instance.path = read_instancename(_expect(name_element, "INSTANCENAME"))
    return instance


def read_instance(element: Any, embedding: int) -> CIMInstance:
    classname = required_attribute(element, "CLASSNAME")
    instance = CIMInstance(classname)
    for child in child_elements(element, _INSTANCE_CHILDREN):
        if child.tag == "QUALIFIER":
            qualifier = _qualifier(child)
            instance.qualifiers[qualifier.name] = qualifier
            continue
        prop = _property(child, classname, embedding)
        if prop.name in instance.properties:
            raise invalid(f"property {prop.name!r} of {classname} is given twice")
        instance.properties[prop.name] = prop
    return instance


_INSTANCE_CHILDREN = ("QUALIFIER", "PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE")


def _property(element: Any, classname: str, embedding: int) -> CIMProperty:
    """One PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE, its value typed."""
    name = required_attribute(element, "NAME")
    what = f"property {name!r} of {classname}"
    children = child_elements(element, ("QUALIFIER", "VALUE", "VALUE.ARRAY", "VALUE.REFERENCE"))
    qualifiers = [_qualifier(child) for child in children if child.tag == "QUALIFIER"]
    values = [child for child in children if child.tag != "QUALIFIER"]
    if len(values) > 1:
        raise Malformed(f"{what} has more than one value")
    value_element = values[0] if values else None
    embedded = embedded_attribute(element)
    if element.tag == "PROPERTY.REFERENCE":
        cimtype = "reference"
        value = None if value_element is None else read_reference(_expect(value_element, "VALUE.REFERENCE"))
    else:
        cimtype = element.get("TYPE", "string")
        value = _property_value(element.tag, value_element, cimtype, embedded, what, embedding)
    try:
        return CIMProperty(
            name,
            value,
            type=cimtype,
            is_array=element.tag == "PROPERTY.ARRAY",
            reference_class=element.get("REFERENCECLASS"),
            embedded_object=embedded,
            class_origin=element.get("CLASSORIGIN"),
            propagated=_flag(element, "PROPAGATED"),
            qualifiers=qualifiers,
        )
    except (ValueError, TypeError) as exc:
        raise invalid(f"{what}: {exc}") from None


def _property_value(
    tag: str, element: Any, cimtype: str, embedded: str | None, what: str, embedding: int
) -> Any:
    if element is None:
        return None
    if tag == "PROPERTY.ARRAY":
        texts = array_items(_expect(element, "VALUE.ARRAY"))
    else:
        texts = [element_text(_expect(element, "VALUE"))]
    if embedded:
        values = [None if text is None else _embedded_value(text, what, embedding) for text in texts]
    else:
        values = [None if text is None else _typed(text, cimtype, what) for text in texts]
    return values if tag == "PROPERTY.ARRAY" else values[0]


def _embedded_value(text: str, what: str, embedding: int) -> Any:
    try:
        return decode_embedded_object(text, embedding)
    except CIMError as exc:
        raise invalid(f"{what}: {exc.status_description}") from None


def read_class(element: Any, embedding: int) -> CIMClass:
    classname = required_attribute(element, "NAME")
    cls = CIMClass(classname, superclass=element.get("SUPERCLASS"))
    for child in child_elements(element, _INSTANCE_CHILDREN + ("METHOD",)):
        if child.tag == "QUALIFIER":
            qualifier = _qualifier(child)
            cls.qualifiers[qualifier.name] = qualifier
        elif child.tag == "METHOD":
            method = _method(child)
            cls.methods[method.name] = method
        else:
            prop = _property(child, classname, embedding)
            cls.properties[prop.name] = prop
    return cls


def _method(element: Any) -> CIMMethod:
    method = CIMMethod(
        required_attribute(element, "NAME"),
        return_type=element.get("TYPE"),
        class_origin=element.get("CLASSORIGIN"),
        propagated=_flag(element, "PROPAGATED"),
    )
    for child in child_elements(element, ("QUALIFIER",) + tuple(_PARAMETER_KINDS)):
        if child.tag == "QUALIFIER":
            qualifier = _qualifier(child)
            method.qualifiers[qualifier.name] = qualifier
        else:
            parameter = _parameter(child)
            method.parameters[parameter.name] = parameter
    return method


#: PARAMETER element -> (is a reference, is an array)
_PARAMETER_KINDS = {
    "PARAMETER": (False, False),
    "PARAMETER.REFERENCE": (True, False),
    "PARAMETER.ARRAY": (False, True),
    "PARAMETER.REFARRAY": (True, True),
}


def _parameter(element: Any) -> CIMParameter:
    is_reference, is_array = _PARAMETER_KINDS[element.tag]
    size = element.get("ARRAYSIZE")
    try:
        return CIMParameter(
            required_attribute(element, "NAME"),
            "reference" if is_reference else required_attribute(element, "TYPE"),
            reference_class=element.get("REFERENCECLASS"),
            is_array=is_array,
            array_size=None if size is None else int(size),
            qualifiers=[_qualifier(child) for child in child_elements(element, ("QUALIFIER",))],
        )
    except (ValueError, TypeError) as exc:
        raise invalid(f"parameter {element.get('NAME')!r}: {exc}") from None


def _qualifier(element: Any) -> CIMQualifier:
    name = required_attribute(element, "NAME")
    cimtype = required_attribute(element, "TYPE")
    value = _qualifier_value(element, cimtype, f"qualifier {name!r}")
    try:
        return CIMQualifier(name, value, type=cimtype, propagated=_flag(element, "PROPAGATED"),
                            **_flavors(element))
    except (ValueError, TypeError) as exc:
        raise invalid(f"qualifier {name!r}: {exc}") from None


def read_qualifier_declaration(element: Any) -> CIMQualifierDeclaration:
    name = required_attribute(element, "NAME")
    cimtype = required_attribute(element, "TYPE")
    scope = [child for child in element if child.tag == "SCOPE"]
    scopes = {key: _flag(scope[0], key) for key in scope[0].attrib} if scope else {}
    size = element.get("ARRAYSIZE")
    try:
        return CIMQualifierDeclaration(
            name, cimtype, value=_qualifier_value(element, cimtype, f"qualifier {name!r}"),
            is_array=bool(_flag(element, "ISARRAY")),
            array_size=None if size is None else int(size),
            scopes=scopes, **_flavors(element),
        )
    except (ValueError, TypeError) as exc:
        raise invalid(f"qualifier {name!r}: {exc}") from None


def _qualifier_value(element: Any, cimtype: str, what: str) -> Any:
    values = [child for child in child_elements(element, ("SCOPE", "VALUE", "VALUE.ARRAY"))
              if child.tag != "SCOPE"]
    if not values:
        return None
    if values[0].tag == "VALUE":
        return _typed(element_text(values[0]), cimtype, what)
    return [None if text is None else _typed(text, cimtype, what)
            for text in array_items(values[0])]


def _flavors(element: Any) -> dict[str, bool | None]:
    return {flavor.lower(): _flag(element, flavor)
            for flavor in ("OVERRIDABLE", "TOSUBCLASS", "TOINSTANCE", "TRANSLATABLE")}


# --------------------------------------------------------------------------
# element helpers


def child_elements(element: Any, allowed: tuple[str, ...]) -> list[Any]:
    children = list(element)
    for child in children:
        if child.tag not in allowed:
            raise Malformed(f"{element.tag} cannot contain {child.tag}")
    return children


def only_child(element: Any, allowed: tuple[str, ...], required: bool = True) -> Any:
    children = child_elements(element, allowed)
    if len(children) > 1 or (required and not children):
        raise Malformed(f"{element.tag} must hold exactly one of {', '.join(allowed)}")
    return children[0] if children else None


def _two_children(element: Any) -> list[Any]:
    children = list(element)
    if len(children) != 2:
        raise Malformed(f"{element.tag} must hold two elements, not {len(children)}")
    return children


def _expect(element: Any, tag: str) -> Any:
    if element.tag != tag:
        raise Malformed(f"expected {tag}, found {element.tag}")
    return element


def required_attribute(element: Any, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise Malformed(f"{element.tag} lacks the {name} attribute")
    return value


def _flag(element: Any, name: str) -> bool | None:
    value = element.get(name)
    if value is None:
        return None
    try:
        return parse_boolean(value)
    except ValueError as exc:
        raise Malformed(f"{element.tag} {name}: {exc}") from None


def embedded_attribute(element: Any) -> str | None:
    for attribute in _EMBEDDED_ATTRIBUTES:
        value = element.get(attribute)
        if value is not None:
            if value not in ("instance", "object"):
                raise Malformed(f"{attribute}={value!r} is neither 'instance' nor 'object'")
            return value
    return None


def element_text(element: Any) -> str:
    if len(element):
        raise Malformed(f"{element.tag} cannot contain {element[0].tag}")
    return element.text or ""
