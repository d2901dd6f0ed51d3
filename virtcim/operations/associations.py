"""Association traversal: References, Associators and their Names variants.

Providers of association classes only answer "which links of this class
point at this object" (:meth:`AssociationProvider.references`). Everything
else is done here once: finding the association classes that can point at
the source's class, the AssocClass, ResultClass, Role and ResultRole filters,
reading the far ends of each link and fetching those instances from their own
providers, wherever they live (another namespace included).

A class path as ObjectName asks about the schema instead (DSP0200 class-level
traversal): the association classes, or the classes at their far ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from pywbem import (
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMClass,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from virtcim.operations.errors import guarded
from virtcim.operations.instances import InstanceOperations
from virtcim.operations.shaping import FULL_VIEW, KEYS_VIEW, InstanceView, Shaper, shaped_class
from virtcim.provider import (
    AssociationProvider,
    InstanceProvider,
    ProviderRegistry,
    RequestContext,
    refers_to,
)
from virtcim.repository.schema import Repository

__all__ = ["AssociationFilter", "AssociationOperations"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssociationFilter:
    """The traversal parameters, as DSP0200 names them (``None``: no filter).

    For References the ResultClass names association classes; for
    Associators it names the classes at the far end, and AssocClass the
    association classes.
    """

    assoc_class: str | None = None
    result_class: str | None = None
    role: str | None = None
    result_role: str | None = None


@dataclass(frozen=True)
class _Reach:
    """How one association class can point at a given class."""

    classname: str
    #: Reference properties that can point at the given class.
    source_roles: tuple[str, ...]
    #: Every reference property, with the class it references.
    references: tuple[tuple[str, str], ...]


class AssociationOperations:
    def __init__(self, repository: Repository, registry: ProviderRegistry, shaper: Shaper,
                 instances: InstanceOperations) -> None:
        self._repository = repository
        self._registry = registry
        self._shaper = shaper
        self._instances = instances
        self._reaches = lru_cache(maxsize=4096)(self._make_reaches)
        self._association_classes: list[CIMClass] | None = None

    # -- instance level ---------------------------------------------------------

    def references(self, ctx: RequestContext, source: CIMInstanceName, flt: AssociationFilter,
                   view: InstanceView = FULL_VIEW) -> Iterator[CIMInstance]:
        """The links pointing at ``source`` (ResultClass filters their class)."""
        reaches = self._matching(ctx.namespace, source, flt.result_class, flt.role, "ResultClass")
        source = self._existing(ctx, source)
        return (
            self._shaper.instance(ctx.namespace, reach.classname, link, view)
            for reach, link in self._links(ctx, reaches, source, flt.role)
        )

    def reference_names(self, ctx: RequestContext, source: CIMInstanceName,
                        flt: AssociationFilter) -> Iterator[CIMInstanceName]:
        reaches = self._matching(ctx.namespace, source, flt.result_class, flt.role, "ResultClass")
        source = self._existing(ctx, source)
        return (
            self._shaper.instance_path(ctx.namespace, reach.classname, link)
            for reach, link in self._links(ctx, reaches, source, flt.role)
        )

    def associator_names(self, ctx: RequestContext, source: CIMInstanceName,
                         flt: AssociationFilter) -> Iterator[CIMInstanceName]:
        """Paths of the instances at the far ends of the links pointing at ``source``.

        Taken from the links as they are; the instances are not fetched.
        """
        ends = self._far_ends(ctx, source, flt)
        return (self._shaper.instance_path(namespace, path.classname, path)
                for namespace, path in ends)

    def associators(self, ctx: RequestContext, source: CIMInstanceName, flt: AssociationFilter,
                    view: InstanceView = FULL_VIEW) -> Iterator[CIMInstance]:
        """The instances at the far ends; ends that no longer exist are skipped."""
        ends = self._far_ends(ctx, source, flt)
        return self._fetch(ctx, ends, view)

    def _fetch(self, ctx: RequestContext, ends: Iterable[tuple[str, CIMInstanceName]],
               view: InstanceView) -> Iterator[CIMInstance]:
        for namespace, path in ends:
            there = ctx if namespace == ctx.namespace else ctx.within(namespace)
            try:
                yield self._instances.get(there, path, view)
            except CIMError as exc:
                if exc.status_code != CIM_ERR_NOT_FOUND:
                    raise

    def _far_ends(self, ctx: RequestContext, source: CIMInstanceName, flt: AssociationFilter
                  ) -> Iterator[tuple[str, CIMInstanceName]]:
        reaches = self._matching(ctx.namespace, source, flt.assoc_class, flt.role)
        if flt.result_class is not None:
            self._known_class(ctx.namespace, flt.result_class, "ResultClass")
        return self._unique_ends(ctx, reaches, self._existing(ctx, source), flt)

    def _existing(self, ctx: RequestContext, source: CIMInstanceName) -> CIMInstanceName:
        """``source`` by its keys alone, once its instance is known to exist.

        A traversal from an object that does not exist is answered as
        GetInstance answers it (``CIM_ERR_NOT_FOUND``), not with an empty
        list that would look like an object without links.
        """
        if not source.keybindings:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"ObjectName: the path of {source.classname} names no key")
        found = self._instances.get(ctx, source, KEYS_VIEW)
        keys = found.path.keybindings if found.path is not None else source.keybindings
        return CIMInstanceName(source.classname, keys, namespace=ctx.namespace)

    def _unique_ends(self, ctx: RequestContext, reaches: list[_Reach], source: CIMInstanceName,
                     flt: AssociationFilter) -> Iterator[tuple[str, CIMInstanceName]]:
        seen: set[CIMInstanceName] = set()
        for reach, link in self._links(ctx, reaches, source, flt.role):
            for end in self._ends_of(ctx.namespace, reach, link, source, flt):
                key = CIMInstanceName(end[1].classname.lower(), end[1].keybindings,
                                      namespace=end[0].lower())
                if key not in seen:
                    seen.add(key)
                    yield end

    def _ends_of(self, namespace: str, reach: _Reach, link: CIMInstance,
                 source: CIMInstanceName, flt: AssociationFilter
                 ) -> Iterator[tuple[str, CIMInstanceName]]:
        """The far ends of one link: each reference other than one at ``source``."""
        near = [role for role in _named(reach.source_roles, flt.role)
                if refers_to(link, source, role)]
        for role in near:
            for name, _ in reach.references:
                if name.lower() == role.lower():
                    continue
                if flt.result_role is not None and name.lower() != flt.result_role.lower():
                    continue
                end = self._end(namespace, link, name, flt.result_class)
                if end is not None:
                    yield end

    def _end(self, namespace: str, link: CIMInstance, role: str, result_class: str | None
             ) -> tuple[str, CIMInstanceName] | None:
        prop = link.properties.get(role)
        path = prop.value if prop is not None else None
        if not isinstance(path, CIMInstanceName):
            return None
        if self._repository.find_class(namespace, path.classname) is None:
            return None
        if result_class is not None and not self._repository.is_subclass(
                namespace, path.classname, result_class):
            return None
        try:
            end_namespace = self._repository.canonical_namespace(path.namespace or namespace)
        except CIMError as exc:
            if exc.status_code != CIM_ERR_INVALID_NAMESPACE:
                raise
            log.debug("%s.%s points into unknown namespace %s", link.classname, role,
                      path.namespace)
            return None
        return end_namespace, CIMInstanceName(path.classname, path.keybindings,
                                              namespace=end_namespace)

    def _links(self, ctx: RequestContext, reaches: list[_Reach], source: CIMInstanceName,
               role: str | None) -> Iterator[tuple[_Reach, CIMInstance]]:
        """Each link pointing at ``source``, from each served association class."""
        source = CIMInstanceName(source.classname, source.keybindings, namespace=ctx.namespace)
        for reach in reaches:
            provider = self._registry.provider_for(ctx.namespace, reach.classname)
            if not isinstance(provider, InstanceProvider):
                continue
            for link in guarded(reach.classname,
                                _links_of(provider, ctx, reach.classname, source, role)):
                yield reach, link

    def _matching(self, namespace: str, source: CIMInstanceName | CIMClassName,
                  assoc_class: str | None, role: str | None, param: str = "AssocClass"
                  ) -> list[_Reach]:
        """The association classes that can point at ``source`` under the filters.

        ``assoc_class`` (the parameter ``param`` of the request) keeps only
        that class and its subclasses, but for the view classes below it
        (:meth:`~virtcim.provider.ProviderRegistry.register_view`).
        """
        source_class = self._known_class(namespace, source.classname, "ObjectName")
        if assoc_class is not None:
            self._known_class(namespace, assoc_class, param)
        return [
            reach for reach in self._reaches(source_class.lower())
            if _named(reach.source_roles, role)
            and (assoc_class is None
                 or (self._repository.is_subclass(namespace, reach.classname, assoc_class)
                     and not self._registry.passes_over(
                         self._repository, namespace, reach.classname, assoc_class)))
        ]

    # -- class level --------------------------------------------------------------

    def class_reference_names(self, namespace: str, source: CIMClassName,
                              flt: AssociationFilter, host: str) -> list[CIMClassName]:
        reaches = self._matching(namespace, source, flt.result_class, flt.role, "ResultClass")
        return [CIMClassName(reach.classname, namespace=namespace, host=host)
                for reach in reaches]

    def class_associator_names(self, namespace: str, source: CIMClassName,
                               flt: AssociationFilter, host: str) -> list[CIMClassName]:
        reaches = self._matching(namespace, source, flt.assoc_class, flt.role)
        if flt.result_class is not None:
            self._known_class(namespace, flt.result_class, "ResultClass")
        found: dict[str, str] = {}
        for reach in reaches:
            for role in _named(reach.source_roles, flt.role):
                for name, refclass in reach.references:
                    if name.lower() == role.lower() or not _named([name], flt.result_role):
                        continue
                    if flt.result_class is None or self._repository.is_subclass(
                            namespace, refclass, flt.result_class):
                        found.setdefault(refclass.lower(), refclass)
        return [CIMClassName(name, namespace=namespace, host=host) for name in found.values()]

    def classes(self, namespace: str, names: Iterable[CIMClassName], include_qualifiers: bool,
                include_class_origin: bool, property_list: list[str] | None) -> list[CIMClass]:
        """The named classes, shaped, each with its class path."""
        found = []
        for name in names:
            cls = shaped_class(self._repository.get_class(namespace, name.classname), False,
                               include_qualifiers, include_class_origin, property_list)
            cls.path = name
            found.append(cls)
        return found

    # -- the schema index -----------------------------------------------------

    def _known_class(self, namespace: str, classname: str, param: str) -> str:
        cls = self._repository.find_class(namespace, classname)
        if cls is None:
            # SFCB, libvirt-cim's broker, said the status's name alone; its clients look for it
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"CIM_ERR_INVALID_PARAMETER: {param}: no class {classname!r} in "
                           f"{namespace}")  # fmt: skip
        return str(cls.classname)

    def _make_reaches(self, classname: str) -> tuple[_Reach, ...]:
        """Every association class with a reference that can point at ``classname``."""
        lineage = {classname, *(name.lower()
                                for name in self._repository.superclassnames("", classname))}
        reaches = []
        for assoc in self._associations():
            references = tuple((prop.name, prop.reference_class)
                               for prop in assoc.properties.values()
                               if prop.type == "reference")
            roles = tuple(name for name, refclass in references if refclass.lower() in lineage)
            if roles:
                reaches.append(_Reach(assoc.classname, roles, references))
        return tuple(reaches)

    def _associations(self) -> list[CIMClass]:
        if self._association_classes is None:
            self._association_classes = [
                cls for cls in (self._repository.get_class("", name)
                                for name in self._repository.classnames(""))
                if cls.qualifiers.get("Association") and cls.qualifiers["Association"].value
            ]
        return self._association_classes


def _named(roles: Iterable[str], wanted: str | None) -> list[str]:
    """``roles`` restricted to ``wanted`` (case-insensitive; ``None``: all)."""
    if wanted is None:
        return list(roles)
    return [role for role in roles if role.lower() == wanted.lower()]


def _links_of(provider: InstanceProvider, ctx: RequestContext, classname: str,
              source: CIMInstanceName, role: str | None) -> Iterator[CIMInstance]:
    if isinstance(provider, AssociationProvider):
        yield from provider.references(ctx, classname, source, role)
    else:
        for link in provider.enumerate_instances(ctx, classname, None):
            if refers_to(link, source, role):
                yield link
