"""Shaping what providers return into what DSP0200 promises the client.

Every instance leaves the server shaped against its class: all the
properties the class declares and the view asks for, in declaration order,
each of its declared type (the class default when the provider gave none),
class origins when asked, and a full path. Undeclared properties are a
provider bug: logged once and dropped.

The per-class work (which properties, their types and origins) is planned
once per class and view and cached, so shaping an instance is one pass over
its properties. Two shortcuts keep that pass cheap (most of an enumeration's
time went here): a property the class declares but the provider left out is
one shared :class:`~virtcim.cimxml.encode.FrozenProperty` per plan, encoded
once; and a provider's ``CIMProperty`` that already has the declared name,
type and form (what ``RequestContext.instance`` builds) is taken over as it
is instead of being copied. Shaped instances are therefore read-only: they
may share property objects with each other and with the provider's instance.
A provider's :class:`~virtcim.provider.SharedInstance` is shaped once per
view and its shaped form reused, encoding included.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIMClass,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
)

from virtcim.cimxml.encode import FrozenInstance, FrozenProperty
from virtcim.operations.values import typed
from virtcim.provider import SharedInstance
from virtcim.repository.schema import PropertyType, Repository

__all__ = ["FULL_VIEW", "KEYS_VIEW", "InstanceView", "Shaper", "shaped_class"]

log = logging.getLogger(__name__)

_PLAN_CACHE_SIZE = 1024
#: Shaped forms kept per shared instance: views come from clients (property
#: lists), so only the first few are kept.
_SHAPED_PER_INSTANCE = 8


@dataclass(frozen=True)
class InstanceView:
    """Which parts of an instance a request asks for.

    ``property_list`` is lower-cased (``None``: all properties);
    ``declared_in`` restricts the properties to those of that class
    (EnumerateInstances with DeepInheritance false).
    """

    property_list: frozenset[str] | None = None
    include_class_origin: bool = False
    declared_in: str | None = None

    @classmethod
    def of(cls, property_list: Sequence[str] | None, include_class_origin: bool = False,
           declared_in: str | None = None) -> InstanceView:
        names = None if property_list is None else frozenset(p.lower() for p in property_list)
        return cls(names, include_class_origin, declared_in and declared_in.lower())


#: Every property, no class origin.
FULL_VIEW = InstanceView()
#: No property: an instance fetched only to learn that it exists.
KEYS_VIEW = InstanceView(frozenset())


@dataclass(frozen=True)
class _Shown:
    decl: PropertyType
    class_origin: str | None
    #: What is shown when the provider gives no value: the class default.
    default: FrozenProperty
    lower_name: str


@dataclass(frozen=True, eq=False)
class _Plan:
    classname: str
    shown: tuple[_Shown, ...]
    keys: tuple[PropertyType, ...]
    declared: frozenset[str]


@dataclass(frozen=True, eq=False)
class _Plans:
    """The plans of the classes one enumeration asks a provider for, in one view."""

    by_class: dict[str, _Plan]
    #: The plan when there is one class (every instance is shaped as that one).
    single: _Plan | None

    def of(self, inst: CIMInstance) -> _Plan:
        """The plan of ``inst``'s class (of the only class, when there is one)."""
        if self.single is not None:
            return self.single
        plan = self.by_class.get(inst.classname.lower())
        if plan is None:
            served = ", ".join(plan.classname for plan in self.by_class.values())
            raise CIMError(CIM_ERR_FAILED,
                           f"provider of {served} gave an instance of {inst.classname}")
        return plan


class Shaper:
    """Shapes provider instances; one per repository, shared by all threads."""

    def __init__(self, repository: Repository, host: str) -> None:
        self._repository = repository
        self._host = host
        self._plan = lru_cache(maxsize=_PLAN_CACHE_SIZE)(self._make_plan)
        self._plans = lru_cache(maxsize=_PLAN_CACHE_SIZE)(self._make_plans)
        self._warned: set[tuple[str, str]] = set()
        self._warned_lock = threading.Lock()

    def instance(self, namespace: str, classname: str, inst: CIMInstance,
                 view: InstanceView = FULL_VIEW) -> CIMInstance:
        """An instance of ``classname`` shaped from the provider's ``inst``.

        New each time, except for a :class:`~virtcim.provider.SharedInstance`:
        that one is shaped once per view, and every request after gets the
        same (never changed) shaped instance, encoded once.
        """
        return self._shaped(namespace, self._plan(classname.lower(), view), inst)

    def instances(self, namespace: str, classnames: Sequence[str], found: Iterable[CIMInstance],
                  view: InstanceView = FULL_VIEW) -> Iterator[CIMInstance]:
        """:meth:`instance` of each of ``found`` (an enumeration), all in one view.

        Each instance is shaped as its own class, one of ``classnames`` (as
        ``classnames[0]`` when that is the only one).
        """
        plans = self._plans(tuple(name.lower() for name in classnames), view)
        # Plans and plan sets are made once per shaper, classes and view: they stand for them.
        key = (namespace, plans.single or plans)
        for inst in found:
            # Inline for the shared instances of unchanged guests: most of a large enumeration.
            shaped = inst.shaped.get(key) if type(inst) is SharedInstance else None
            yield self._shaped(namespace, plans.of(inst), inst, key) if shaped is None else shaped

    def _shaped(self, namespace: str, plan: _Plan, inst: CIMInstance,
                alias: tuple[str, _Plan | _Plans] | None = None) -> CIMInstance:
        """``inst`` shaped by ``plan``; a shared instance once per plan, also kept by ``alias``."""
        if not isinstance(inst, SharedInstance):
            return self._shape(namespace, plan, inst, CIMInstance)
        # A plan is made once per shaper, class and view, so it stands for all three.
        key = (namespace, plan)
        shaped = inst.shaped.get(key)
        if shaped is None:
            shaped = self._shape(namespace, plan, inst, FrozenInstance)
            _keep_shaped(inst, key, shaped)
        if alias is not None and alias != key:
            _keep_shaped(inst, alias, shaped)
        return shaped

    def _shape(self, namespace: str, plan: _Plan, inst: CIMInstance,
               kind: type[CIMInstance]) -> CIMInstance:
        given = {name.lower(): prop for name, prop in inst.properties.items()}
        if not plan.declared.issuperset(given):
            self._warn_undeclared(plan, inst.properties)
        shaped = kind(plan.classname)
        props = shaped.properties
        for shown in plan.shown:
            prop = given.get(shown.lower_name)
            props[shown.decl.name] = (shown.default if prop is None
                                      else _shown_property(plan, shown, prop))
        shaped.path = self.path(namespace, plan, inst)
        return shaped

    def instance_path(self, namespace: str, classname: str,
                      inst_or_path: CIMInstance | CIMInstanceName) -> CIMInstanceName:
        """The full path (host, namespace, declared class spelling) of an instance."""
        plan = self._plan(classname.lower(), FULL_VIEW)
        if isinstance(inst_or_path, CIMInstanceName):
            return self._full(namespace, plan, inst_or_path)
        return self.path(namespace, plan, inst_or_path)

    def path(self, namespace: str, plan: _Plan, inst: CIMInstance) -> CIMInstanceName:
        if inst.path is not None and inst.path.keybindings:
            return self._full(namespace, plan, inst.path)
        keys = {}
        for decl in plan.keys:
            prop = inst.properties.get(decl.name)
            value = decl.default if prop is None else _provider_value(plan, decl, prop)
            keys[decl.name] = value
        return CIMInstanceName(plan.classname, keys, namespace=namespace, host=self._host)

    def _full(self, namespace: str, plan: _Plan, path: CIMInstanceName) -> CIMInstanceName:
        return CIMInstanceName(plan.classname, path.keybindings, namespace=namespace,
                               host=self._host)

    def _make_plans(self, classnames: tuple[str, ...], view: InstanceView) -> _Plans:
        by_class = {name: self._plan(name, view) for name in classnames}
        return _Plans(by_class, next(iter(by_class.values())) if len(by_class) == 1 else None)

    def _make_plan(self, classname: str, view: InstanceView) -> _Plan:
        cls = self._repository.get_class("", classname)
        types = self._repository.property_types("", classname)
        allowed = None
        if view.declared_in is not None:
            allowed = set(self._repository.property_types("", view.declared_in))
        shown = []
        for name, prop in cls.properties.items():
            lower = name.lower()
            if view.property_list is not None and lower not in view.property_list:
                continue
            if allowed is not None and lower not in allowed:
                continue
            origin = prop.class_origin if view.include_class_origin else None
            decl = types[lower]
            default = _property(decl, decl.default, origin, FrozenProperty)
            shown.append(_Shown(decl, origin, default, lower))
        keys = tuple(decl for decl in types.values() if decl.is_key)
        return _Plan(cls.classname, tuple(shown), keys, frozenset(types))

    def _warn_undeclared(self, plan: _Plan, given: Any) -> None:
        for name in given:
            key = (plan.classname.lower(), name.lower())
            if name.lower() in plan.declared:
                continue
            with self._warned_lock:
                if key in self._warned:
                    continue
                self._warned.add(key)
            log.warning("provider of %s gave undeclared property %s; dropped",
                        plan.classname, name)


def _keep_shaped(inst: SharedInstance, key: Any, shaped: CIMInstance) -> None:
    if len(inst.shaped) < _SHAPED_PER_INSTANCE:
        inst.shaped[key] = shaped


def _shown_property(plan: _Plan, shown: _Shown, prop: Any) -> CIMProperty:
    """The provider's property as the plan shows it: taken over when it already is."""
    decl = shown.decl
    if (isinstance(prop, CIMProperty) and prop.name == decl.name and prop.type == decl.type
            and prop.is_array == decl.is_array and prop.embedded_object == decl.embedded_object
            and prop.reference_class == decl.reference_class
            and prop.class_origin == shown.class_origin and prop.propagated is None
            and not prop.qualifiers and prop.array_size is None):
        return prop
    return _property(decl, _provider_value(plan, decl, prop), shown.class_origin)


def _property(decl: PropertyType, value: Any, class_origin: str | None,
              kind: type[CIMProperty] = CIMProperty) -> CIMProperty:
    return kind(decl.name, value, type=decl.type, is_array=decl.is_array,
                reference_class=decl.reference_class, embedded_object=decl.embedded_object,
                class_origin=class_origin)


def _provider_value(plan: _Plan, decl: PropertyType, prop: Any) -> Any:
    value = prop.value if isinstance(prop, CIMProperty) else prop
    if decl.embedded_object:
        return value
    try:
        return typed(decl.type, decl.is_array, value)
    except (TypeError, ValueError) as exc:
        raise CIMError(CIM_ERR_FAILED, f"provider of {plan.classname} gave {decl.name} "
                                       f"a value that is not a {decl.type}: {exc}") from None


def shaped_class(cls: CIMClass, local_only: bool, include_qualifiers: bool,
                 include_class_origin: bool, property_list: Sequence[str] | None = None
                 ) -> CIMClass:
    """A copy of repository class ``cls`` with what the request asked for.

    LocalOnly keeps the properties and methods the class itself defines or
    overrides (the resolved class marks the others propagated).
    """
    # CIMClass.copy shares the members' qualifier dicts: copy deeply.
    shaped = copy.deepcopy(cls)
    if local_only:
        _keep(shaped.properties, lambda prop: not prop.propagated)
        _keep(shaped.methods, lambda meth: not meth.propagated)
    if property_list is not None:
        wanted = {name.lower() for name in property_list}
        _keep(shaped.properties, lambda prop: prop.name.lower() in wanted)
    if not include_qualifiers:
        _strip_qualifiers(shaped)
    if not include_class_origin:
        for member in (*shaped.properties.values(), *shaped.methods.values()):
            member.class_origin = None
    return shaped


def _keep(members: Any, wanted: Any) -> None:
    for name in [name for name, member in members.items() if not wanted(member)]:
        del members[name]


def _strip_qualifiers(cls: CIMClass) -> None:
    cls.qualifiers.clear()
    for prop in cls.properties.values():
        prop.qualifiers.clear()
    for meth in cls.methods.values():
        meth.qualifiers.clear()
        for param in meth.parameters.values():
            param.qualifiers.clear()
