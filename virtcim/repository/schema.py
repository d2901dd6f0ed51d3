"""The class repository: resolved classes, qualifier declarations, namespaces.

Classes are compiled from MOF once (see :mod:`virtcim.repository.compile`)
and shared read-only by every request thread: callers never mutate what
they get back; they copy first. Every namespace sees the same classes; static
instances (declared in MOF, such as registered profiles) belong to one
namespace each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NO_SUCH_PROPERTY,
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    CIMQualifierDeclaration,
    cimvalue,
)

__all__ = ["PropertyType", "Repository"]

InstanceT = TypeVar("InstanceT", bound=CIMInstance)


@dataclass(frozen=True)
class PropertyType:
    """What a class declares of one property, in the form conversions need."""

    name: str
    type: str
    is_array: bool
    embedded_object: str | None
    reference_class: str | None
    is_key: bool
    default: Any
    #: The values its Values qualifier names, by lower-cased name (DSP0004: the ValueMap entry
    #: at the same place, else the place itself), as the property's type holds them.
    symbols: Mapping[str, Any] = field(default_factory=dict)


class Repository:
    """Lookups over a compiled, resolved set of classes.

    ``namespaces`` are the canonical names the server answers; ``aliases``
    map other spellings (``interop``) to one of them.
    """

    def __init__(
        self,
        classes: Iterable[CIMClass],
        qualifiers: Iterable[CIMQualifierDeclaration],
        namespaces: Iterable[str],
        aliases: Mapping[str, str] | None = None,
        instances: Mapping[str, Iterable[CIMInstance]] | None = None,
    ) -> None:
        self._classes = {cls.classname.lower(): cls for cls in classes}
        self._qualifiers = {q.name.lower(): q for q in qualifiers}
        self._namespaces = list(namespaces)
        self._ns_lookup = {ns.lower(): ns for ns in self._namespaces}
        for alias, target in (aliases or {}).items():
            self._ns_lookup[alias.lower()] = self._ns_lookup[target.lower()]
        self._instances = {
            self.canonical_namespace(ns): list(insts) for ns, insts in (instances or {}).items()
        }
        self._children: dict[str | None, list[str]] = {}
        for cls in self._classes.values():
            parent = cls.superclass.lower() if cls.superclass else None
            self._children.setdefault(parent, []).append(cls.classname)
        self._property_types: dict[str, dict[str, PropertyType]] = {}

    # -- namespaces ---------------------------------------------------------

    @property
    def namespaces(self) -> list[str]:
        return list(self._namespaces)

    def canonical_namespace(self, namespace: str | None) -> str:
        """The canonical spelling of ``namespace``, or ``CIM_ERR_INVALID_NAMESPACE``."""
        found = self._ns_lookup.get((namespace or "").strip("/").lower())
        if found is None:
            raise CIMError(CIM_ERR_INVALID_NAMESPACE, f"no namespace {namespace!r}")
        return found

    # -- classes ------------------------------------------------------------

    def find_class(self, namespace: str, classname: str) -> CIMClass | None:
        return self._classes.get(classname.lower())

    def get_class(self, namespace: str, classname: str) -> CIMClass:
        """The resolved class, or ``CIM_ERR_INVALID_CLASS``; never mutate it."""
        cls = self._classes.get(classname.lower())
        if cls is None:
            raise CIMError(CIM_ERR_INVALID_CLASS, f"no class {classname!r} in {namespace}")
        return cls

    def classnames(self, namespace: str) -> list[str]:
        return [cls.classname for cls in self._classes.values()]

    def subclassnames(self, namespace: str, classname: str | None, deep: bool) -> list[str]:
        """Subclasses of ``classname`` (``None``: the root classes), not itself."""
        start = classname.lower() if classname else None
        found = list(self._children.get(start, []))
        if deep:
            i = 0
            while i < len(found):
                found.extend(self._children.get(found[i].lower(), []))
                i += 1
        return found

    def superclassnames(self, namespace: str, classname: str) -> list[str]:
        """The chain of superclasses, nearest first."""
        chain = []
        cls = self._classes.get(classname.lower())
        while cls is not None and cls.superclass:
            chain.append(cls.superclass)
            cls = self._classes.get(cls.superclass.lower())
        return chain

    def is_subclass(self, namespace: str, classname: str, ancestor: str) -> bool:
        """Whether ``classname`` is ``ancestor`` or derives from it."""
        wanted = ancestor.lower()
        return classname.lower() == wanted or any(
            name.lower() == wanted for name in self.superclassnames(namespace, classname)
        )

    # -- qualifiers ---------------------------------------------------------

    def qualifiers(self, namespace: str) -> list[CIMQualifierDeclaration]:
        return list(self._qualifiers.values())

    def get_qualifier(self, namespace: str, name: str) -> CIMQualifierDeclaration:
        decl = self._qualifiers.get(name.lower())
        if decl is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no qualifier {name!r} in {namespace}")
        return decl

    # -- instances ----------------------------------------------------------

    def static_instances(self, namespace: str) -> list[CIMInstance]:
        """Instances declared in MOF for ``namespace``; never mutate them."""
        return self._instances.get(namespace, [])

    def property_types(self, namespace: str, classname: str) -> dict[str, PropertyType]:
        """Each property of the class by lower-cased name (cached)."""
        key = classname.lower()
        types = self._property_types.get(key)
        if types is None:
            cls = self.get_class(namespace, classname)
            types = {
                name.lower(): PropertyType(
                    name=prop.name,
                    type=prop.type,
                    is_array=prop.is_array,
                    embedded_object=prop.embedded_object,
                    reference_class=prop.reference_class,
                    is_key=bool(prop.qualifiers.get("Key") and prop.qualifiers["Key"].value),
                    default=prop.value,
                    symbols=_symbols(prop),
                )
                for name, prop in cls.properties.items()
            }
            self._property_types[key] = types
        return types

    def build_instance(
        self, namespace: str, classname: str, values: Mapping[str, Any],
        kind: type[InstanceT] = CIMInstance,  # type: ignore[assignment]
    ) -> InstanceT:
        """A typed instance of ``classname`` with its path, from plain values.

        ``kind`` is the ``CIMInstance`` class to make (such as
        :class:`~virtcim.provider.SharedInstance`).
        """
        cls = self.get_class(namespace, classname)
        types = self.property_types(namespace, classname)
        inst = kind(cls.classname)
        keys = {}
        for name, value in values.items():
            prop = typed_property(types, cls.classname, name, value)
            inst.properties[prop.name] = prop
            if types[name.lower()].is_key:
                keys[prop.name] = prop.value
        inst.path = CIMInstanceName(cls.classname, keys, namespace=namespace)
        return inst

    def build_path(self, namespace: str, classname: str, keys: Mapping[str, Any]) -> CIMInstanceName:
        """A typed instance path of ``classname``."""
        cls = self.get_class(namespace, classname)
        types = self.property_types(namespace, classname)
        bindings = {}
        for name, value in keys.items():
            prop = typed_property(types, cls.classname, name, value)
            bindings[prop.name] = prop.value
        return CIMInstanceName(cls.classname, bindings, namespace=namespace)


def typed_property(
    types: Mapping[str, PropertyType], classname: str, name: str, value: Any
) -> CIMProperty:
    """A ``CIMProperty`` of the declared type holding ``value``.

    Raises ``CIM_ERR_NO_SUCH_PROPERTY`` for an undeclared name and
    ``CIM_ERR_INVALID_PARAMETER`` for a value that is not of the type.
    """
    decl = types.get(name.lower())
    if decl is None:
        raise CIMError(CIM_ERR_NO_SUCH_PROPERTY, f"{classname} has no property {name!r}")
    try:
        if decl.type == "reference":
            return CIMProperty(decl.name, value, type="reference",
                               reference_class=decl.reference_class, is_array=decl.is_array)
        if decl.embedded_object and value is not None:
            return CIMProperty(decl.name, value, type="string",
                               embedded_object=decl.embedded_object, is_array=decl.is_array)
        return CIMProperty(decl.name, typed_value(decl.type, decl.is_array, value),
                           type=decl.type, is_array=decl.is_array)
    except (TypeError, ValueError) as exc:
        raise CIMError(
            CIM_ERR_INVALID_PARAMETER, f"{classname}.{decl.name}: {value!r} is not a {decl.type}"
        ) from exc


def typed_value(cimtype: str, is_array: bool, value: Any) -> Any:
    """``value`` converted to the pywbem type for ``cimtype`` (lists for arrays)."""
    if value is None:
        return None
    if is_array:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError("an array needs a list")
        return [cimvalue(item, cimtype) for item in value]
    if isinstance(value, (list, tuple)):
        raise TypeError("a scalar cannot take a list")
    return cimvalue(value, cimtype)


def _symbols(prop: CIMProperty) -> dict[str, Any]:
    """``prop``'s values by the lower-cased names its Values qualifier gives them."""
    names = prop.qualifiers.get("Values")
    if names is None or not names.value:
        return {}
    value_map = prop.qualifiers.get("ValueMap")
    keys = value_map.value if value_map is not None and value_map.value else [
        str(place) for place in range(len(names.value))]
    symbols: dict[str, Any] = {}
    for key, name in zip(keys, names.value, strict=False):
        if prop.type == "string":
            symbols.setdefault(name.lower(), key)
            continue
        try:  # a range ("..", "0x8000..") names no one value
            value = int(key, 16) if key.lower().startswith("0x") else int(key)
        except ValueError:
            continue
        symbols.setdefault(name.lower(), value)
    return symbols
