"""Instance operations, routed to the providers of a class and its subclasses.

An enumeration of a class visits the class and every subclass that has a
provider (but for view classes, see
:meth:`~virtcim.provider.ProviderRegistry.register_view`), lazily: a provider's generator is only started when the previous
one is exhausted, and each instance is shaped as it passes, so memory stays
flat however many instances there are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NO_SUCH_PROPERTY,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIM_ERR_TYPE_MISMATCH,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
)

from virtcim.operations.errors import guarded, provider_errors
from virtcim.operations.missing import blamed_key, missing_key_error, not_found_message
from virtcim.operations.shaping import FULL_VIEW, InstanceView, Shaper
from virtcim.operations.values import typed
from virtcim.provider import InstanceProvider, ProviderRegistry, RequestContext
from virtcim.repository.schema import PropertyType, Repository

__all__ = ["InstanceOperations"]

_NOWHERE: Mapping[str, frozenset[Any]] = {}


class InstanceOperations:
    def __init__(self, repository: Repository, registry: ProviderRegistry,
                 shaper: Shaper) -> None:
        self._repository = repository
        self._registry = registry
        self._shaper = shaper
        self._family = lru_cache(maxsize=4096)(self._make_family)
        self._key_names = lru_cache(maxsize=4096)(self._make_key_names)

    # -- reading --------------------------------------------------------------

    def enumerate(self, ctx: RequestContext, classname: str, view: InstanceView = FULL_VIEW,
                  where: Mapping[str, frozenset[Any]] | None = None) -> Iterator[CIMInstance]:
        """Instances of ``classname`` and its subclasses, shaped, as a lazy iterator.

        ``where`` (from :meth:`virtcim.query.Query.equalities`) lets providers
        that can look instances up by some of those property values do so
        (:meth:`~virtcim.provider.InstanceProvider.enumerate_where`); the
        others list everything. Either may give instances beyond those.
        """
        served = self._served_family(ctx.namespace, classname)
        return self._enumerate(ctx, served, view, where or _NOWHERE)

    def _enumerate(self, ctx: RequestContext, served: list[tuple[str, InstanceProvider]],
                   view: InstanceView, where: Mapping[str, frozenset[Any]]
                   ) -> Iterator[CIMInstance]:
        hint = None if view.property_list is None else sorted(view.property_list)
        for provider, classnames in _by_provider(served):
            lookup = {name: where[name] for name in provider.lookup_properties & where.keys()}
            if lookup:
                call = _call(provider.enumerate_where, ctx, classnames, hint, lookup)
            else:
                call = _call(provider.enumerate_instances_of, ctx, classnames, hint)
            found = guarded(", ".join(classnames), call)
            yield from self._shaper.instances(ctx.namespace, classnames, found, view)

    def enumerate_names(self, ctx: RequestContext, classname: str) -> Iterator[CIMInstanceName]:
        """Paths of the instances of ``classname`` and its subclasses, lazily."""
        served = self._served_family(ctx.namespace, classname)
        return self._enumerate_names(ctx, served)

    def _enumerate_names(self, ctx: RequestContext, served: list[tuple[str, InstanceProvider]]
                         ) -> Iterator[CIMInstanceName]:
        for classname, provider in served:
            for found in guarded(classname, self._names_from(provider, ctx, classname)):
                yield self._shaper.instance_path(ctx.namespace, classname, found)

    def _names_from(self, provider: InstanceProvider, ctx: RequestContext, classname: str
                    ) -> Iterator[CIMInstance | CIMInstanceName]:
        """The provider's paths, or its instances when it has no faster way.

        The default ``enumerate_instance_names`` reads paths off instances,
        which providers may leave unset; the keys are read from the instance
        then.
        """
        if type(provider).enumerate_instance_names is not InstanceProvider.enumerate_instance_names:
            yield from provider.enumerate_instance_names(ctx, classname)
            return
        keys = self._key_names(ctx.namespace, classname)
        yield from provider.enumerate_instances(ctx, classname, keys)

    def get(self, ctx: RequestContext, path: CIMInstanceName,
            view: InstanceView = FULL_VIEW) -> CIMInstance:
        """The instance at ``path``, shaped; ``CIM_ERR_NOT_FOUND`` when none."""
        classname = self._repository.get_class(ctx.namespace, path.classname).classname
        provider = self._provider(ctx.namespace, classname)
        if provider is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {classname} {_keys(path)} "
                                              f"in {ctx.namespace}: the class has no provider")
        hint = None if view.property_list is None else sorted(view.property_list)
        local = self._key_path(ctx.namespace, classname, path, provider.identifier)
        try:
            with provider_errors(classname):
                inst = provider.get_instance(ctx, local, hint)
        except CIMError as exc:
            if exc.status_code != CIM_ERR_NOT_FOUND:
                raise
            raise self._not_found(ctx, classname, local, exc.status_description) from None
        return self._shaper.instance(ctx.namespace, self._own_class(ctx, classname, inst), inst,
                                     view)

    def _own_class(self, ctx: RequestContext, classname: str, inst: CIMInstance) -> str:
        """The class ``inst`` is answered as: its own where the provider made it of a
        subclass of the ``classname`` asked for (a migration's job asked for as a
        ``CIM_ConcreteJob``), else ``classname``."""
        own = inst.classname
        if own.lower() != classname.lower() and self._repository.is_subclass(
                ctx.namespace, own, classname):
            return own
        return classname

    def _not_found(self, ctx: RequestContext, classname: str, path: CIMInstanceName,
                   detail: str) -> CIMError:
        """The provider's ``CIM_ERR_NOT_FOUND``, worded as libvirt-cim's clients read it."""
        if detail.startswith("No such instance"):
            return CIMError(CIM_ERR_NOT_FOUND, detail)
        try:
            key = blamed_key(path, self._key_names(ctx.namespace, classname),
                             self.enumerate_names(ctx, classname))
        except CIMError:
            key = None
        return CIMError(CIM_ERR_NOT_FOUND, not_found_message(key, detail))

    def _make_key_names(self, namespace: str, classname: str) -> tuple[str, ...]:
        """The class's keys in its order (cached: every GetInstance checks them)."""
        return tuple(decl.name for decl in self._repository.property_types(namespace, classname)
                     .values() if decl.is_key)

    def _key_path(self, namespace: str, classname: str, path: CIMInstanceName,
                  identifier: tuple[str, str] | None) -> CIMInstanceName:
        """``path`` as providers receive it, without keybindings that are no keys.

        A path without a value for every key names no instance
        (:func:`~virtcim.operations.missing.missing_key_error`).

        Clients written for libvirt-cim add properties to the paths they send
        (a guest's ``EnabledState`` beside its keys); the instance is found by
        its keys alone, as libvirt-cim's brokers found it.
        """
        key_names = self._key_names(namespace, classname)
        missing = [name for name in key_names if name not in path.keybindings]
        if missing:
            raise missing_key_error(missing[0], f"{classname} {_keys(path)} in {namespace}",
                                    identifier)
        if len(path.keybindings) == len(key_names):
            return _local(path, namespace, classname)
        keys = {name: path.keybindings[name] for name in key_names}
        return CIMInstanceName(classname, keys, namespace=namespace)

    def get_property(self, ctx: RequestContext, path: CIMInstanceName, name: str) -> Any:
        decl = self._declared_property(ctx.namespace, path.classname, name)
        inst = self.get(ctx, path, InstanceView.of([decl.name]))
        return inst.properties[decl.name].value

    # -- changing -------------------------------------------------------------

    def create(self, ctx: RequestContext, new: CIMInstance) -> CIMInstanceName:
        inst = self._client_instance(ctx.namespace, new)
        provider = self._provider(ctx.namespace, inst.classname)
        if provider is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED,
                           f"{inst.classname} instances cannot be created in {ctx.namespace}")
        with provider_errors(inst.classname):
            path = provider.create_instance(ctx, inst)
        return self._shaper.instance_path(ctx.namespace, inst.classname, path)

    def modify(self, ctx: RequestContext, modified: CIMInstance,
               property_list: Sequence[str] | None) -> None:
        if modified.path is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "ModifiedInstance has no instance path")
        inst = self._client_instance(ctx.namespace, modified)
        if property_list is not None:
            property_list = [self._declared(ctx.namespace, inst.classname, name,
                                            CIM_ERR_INVALID_PARAMETER).name
                             for name in property_list]
        self._modify(ctx, inst, property_list)

    def set_property(self, ctx: RequestContext, path: CIMInstanceName, name: str,
                     value: Any) -> None:
        decl = self._declared_property(ctx.namespace, path.classname, name)
        try:
            prop = _property(decl, value)
        except (TypeError, ValueError) as exc:
            raise CIMError(CIM_ERR_TYPE_MISMATCH,
                           f"{path.classname}.{decl.name}: {value!r}: {exc}") from None
        inst = CIMInstance(path.classname, properties=[prop],
                           path=_local(path, ctx.namespace, path.classname))
        self._modify(ctx, inst, [decl.name])

    def delete(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        classname = self._repository.get_class(ctx.namespace, path.classname).classname
        provider = self._existing_provider(ctx.namespace, classname, path)
        with provider_errors(classname):
            provider.delete_instance(ctx, _local(path, ctx.namespace, classname))

    def _modify(self, ctx: RequestContext, inst: CIMInstance,
                property_list: Sequence[str] | None) -> None:
        provider = self._existing_provider(ctx.namespace, inst.classname, inst.path)
        with provider_errors(inst.classname):
            provider.modify_instance(ctx, inst, property_list)

    # -- helpers --------------------------------------------------------------

    def _provider(self, namespace: str, classname: str) -> InstanceProvider | None:
        provider = self._registry.provider_for(namespace, classname)
        return provider if isinstance(provider, InstanceProvider) else None

    def _existing_provider(self, namespace: str, classname: str,
                           path: CIMInstanceName) -> InstanceProvider:
        provider = self._provider(namespace, classname)
        if provider is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {classname} {_keys(path)} "
                                              f"in {namespace}: the class has no provider")
        return provider

    def _served_family(self, namespace: str, classname: str
                       ) -> list[tuple[str, InstanceProvider]]:
        """``classname`` and its subclasses that have a provider, with it."""
        served = []
        for name in self._family(namespace, classname.lower()):
            provider = self._provider(namespace, name)
            if provider is not None:
                served.append((name, provider))
        return served

    def _make_family(self, namespace: str, classname: str) -> tuple[str, ...]:
        """The class and its subclasses, but for the view classes below it (each object once)."""
        cls = self._repository.get_class(namespace, classname)
        subclasses = self._repository.subclassnames(namespace, cls.classname, deep=True)
        return (cls.classname, *(
            name for name in subclasses
            if not self._registry.passes_over(self._repository, namespace, name, cls.classname)))

    def _client_instance(self, namespace: str, inst: CIMInstance) -> CIMInstance:
        """A client's instance with each property typed as its class declares."""
        cls = self._repository.get_class(namespace, inst.classname)
        typed_inst = CIMInstance(cls.classname)
        for name, prop in inst.properties.items():
            decl = self._declared(namespace, cls.classname, name, CIM_ERR_INVALID_PARAMETER)
            try:
                typed_inst.properties[decl.name] = _property(decl, prop.value)
            except (TypeError, ValueError) as exc:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"{cls.classname}.{decl.name}: {prop.value!r}: {exc}") from None
        if inst.path is not None:
            typed_inst.path = _local(inst.path, namespace, cls.classname)
        return typed_inst

    def _declared_property(self, namespace: str, classname: str, name: str) -> PropertyType:
        self._repository.get_class(namespace, classname)
        return self._declared(namespace, classname, name, CIM_ERR_NO_SUCH_PROPERTY)

    def _declared(self, namespace: str, classname: str, name: str, code: int) -> PropertyType:
        decl = self._repository.property_types(namespace, classname).get(name.lower())
        if decl is None:
            raise CIMError(code, f"{classname} has no property {name!r}")
        return decl


def _by_provider(served: list[tuple[str, InstanceProvider]]
                 ) -> list[tuple[InstanceProvider, list[str]]]:
    """The classes of ``served`` by provider, in the order each provider first serves one."""
    classes: dict[int, tuple[InstanceProvider, list[str]]] = {}
    for classname, provider in served:
        classes.setdefault(id(provider), (provider, []))[1].append(classname)
    return list(classes.values())


def _call(func: Any, *args: Any) -> Iterator[Any]:
    """Call a provider's enumeration lazily, so that its failures are guarded too."""
    yield from func(*args)


def _property(decl: PropertyType, value: Any) -> CIMProperty:
    if not decl.embedded_object:
        value = typed(decl.type, decl.is_array, value)
    return CIMProperty(decl.name, value, type=decl.type, is_array=decl.is_array,
                       reference_class=decl.reference_class,
                       embedded_object=decl.embedded_object)


def _local(path: CIMInstanceName, namespace: str, classname: str) -> CIMInstanceName:
    """``path`` as providers receive it: declared class spelling, no host.

    Most paths already are (a path costs microseconds to build).
    """
    if path.classname == classname and path.namespace == namespace and path.host is None:
        return path
    return CIMInstanceName(classname, path.keybindings, namespace=namespace)


def _keys(path: CIMInstanceName | None) -> str:
    if path is None:
        return ""
    return ",".join(f"{name}={value!r}" for name, value in path.keybindings.items())
