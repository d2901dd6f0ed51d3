"""The link machinery of association providers, shared by every association family.

An association class is served by one :class:`LinkProvider` per hypervisor,
made of *link sources*: each source is one kind of link (guest to device,
host to a service...), says which classes stand at which role, and finds the
links at one object by reading only that object's domain. So a traversal
from one guest costs one guest's work, with 10 guests or 1,000.

:class:`SingletonLink` links objects a hypervisor has one of, built from a
function giving each object's path: :func:`hosted_service` and
:func:`host_capabilities` make the usual ones. The families
(:mod:`providers.system_associations`, :mod:`providers.pool_associations`,
:mod:`providers.settings_associations`...) define their sources with these
and import nothing from one another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.paths import HOST_SYSTEM, host_path
from providers.virt import Hypervisor, naming
from virtcim.provider import AssociationProvider, RequestContext, same_keys

__all__ = [
    "Link",
    "LinkProvider",
    "LinkSetProvider",
    "LinkSource",
    "PathFunction",
    "SingletonLink",
    "host_capabilities",
    "hosted_service",
]


#: The property values of one association instance: its references, and any other.
Link = Mapping[str, Any]


#: The path of an object a hypervisor has one of (its host, a service, capabilities).
PathFunction = Callable[[RequestContext, Hypervisor], CIMInstanceName]


class LinkSource(Protocol):
    """One kind of link of an association class."""

    @property
    def ends(self) -> Mapping[str, frozenset[str]]:
        """Each reference role and the generic classes (``ComputerSystem``) standing there."""
        ...

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        """Every link of this kind on ``hv``."""
        ...

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        """The links whose ``role`` end is ``source``.

        ``source`` is of one of the classes :attr:`ends` names for ``role`` (with
        ``hv``'s prefix) but may name nothing that exists: then there are no links.
        """
        ...


class AllLinks(Protocol):
    """A kind of link that can list all its links on a hypervisor."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        """Every link of this kind on ``hv``."""
        ...


SourceT = TypeVar("SourceT", bound=AllLinks)


class LinkSetProvider(AssociationProvider, Generic[SourceT]):
    """An association whose instances are the links its ``sources`` make on one hypervisor.

    Subclasses answer :meth:`references`; a GetInstance follows the links of
    one of the path's ends.
    """

    def __init__(self, hypervisor: Hypervisor, sources: Sequence[SourceT]) -> None:
        self.hypervisor = hypervisor
        self.sources: tuple[SourceT, ...] = tuple(sources)

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        for source in self.sources:
            for link in source.all_links(ctx, self.hypervisor):
                yield ctx.instance(classname, **link)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        for role, end in path.keybindings.items():
            if isinstance(end, CIMInstanceName):
                for link in self.references(ctx, path.classname, end, role):
                    if same_keys(link.path, path):
                        return link
                break
        raise CIMError(CIM_ERR_NOT_FOUND, f"no link {path} on {self.hypervisor.uri}")


class LinkProvider(LinkSetProvider[LinkSource]):
    """``<Prefix>_<Association>``: the links of its ``sources`` on one hypervisor.

    References reach only the sources whose classes can stand at the
    source's role; where the source's class stands at both roles (a filter
    including another), at each of them.
    """

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterator[CIMInstance]:
        for links in self.sources:
            for at in self._roles(links, source, role):
                for link in links.links_at(ctx, self.hypervisor, at, source):
                    yield ctx.instance(classname, **link)

    def _roles(self, links: LinkSource, source: CIMInstanceName, role: str | None
               ) -> Iterator[str]:  # fmt: skip
        """The roles of ``links`` at which ``source`` can stand, as ``role`` asks."""
        for name, generics in links.ends.items():
            if role is not None and name.lower() != role.lower():
                continue
            if self._is_of(source, generics):
                yield name

    def _is_of(self, path: CIMInstanceName, generics: frozenset[str]) -> bool:
        prefix = self.hypervisor.prefix
        wanted = path.classname.lower()
        return any(naming.classname(prefix, generic).lower() == wanted for generic in generics)


# -- links between objects a hypervisor has one of ----------------------------------------------


@dataclass(frozen=True)
class SingletonLink:
    """One link per hypervisor between two objects it has one of each.

    ``paths`` maps each role to the generic class standing there and the
    function giving that object's path; ``properties`` are the link's other
    values (``Characteristics``).
    """

    paths: Mapping[str, tuple[str, PathFunction]]
    properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ends(self) -> Mapping[str, frozenset[str]]:
        return {role: frozenset({generic}) for role, (generic, _) in self.paths.items()}

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterable[Link]:
        return [self._link(ctx, hv)]

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        link = self._link(ctx, hv)
        return [link] if same_keys(link[role], source) else []

    def _link(self, ctx: RequestContext, hv: Hypervisor) -> dict[str, Any]:
        ends = {role: path_of(ctx, hv) for role, (_, path_of) in self.paths.items()}
        return {**ends, **self.properties}


def hosted_service(generic: str, service_path: PathFunction) -> SingletonLink:
    """HostedService from the host (Antecedent) to the service (Dependent) ``service_path`` gives."""
    return SingletonLink({"Antecedent": (HOST_SYSTEM, host_path),
                          "Dependent": (generic, service_path)})


def host_capabilities(
    generic: str, capabilities_path: PathFunction, properties: Mapping[str, Any] | None = None
) -> SingletonLink:
    """ElementCapabilities from the host (ManagedElement) to the capabilities given."""
    return SingletonLink({"ManagedElement": (HOST_SYSTEM, host_path),
                          "Capabilities": (generic, capabilities_path)}, dict(properties or {}))


# -- links of each guest ------------------------------------------------------------------------
