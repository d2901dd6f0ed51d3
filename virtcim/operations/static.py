"""Instances declared in MOF (registered profiles and the like), served as-is.

One :class:`StaticInstanceProvider` per namespace serves every class that has
MOF-declared instances there, association classes included (through the
default :meth:`AssociationProvider.references`, which scans the few links).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from virtcim.provider import AssociationProvider, ProviderRegistry, RequestContext, same_keys
from virtcim.repository.schema import Repository

__all__ = ["StaticInstanceProvider", "register_static_instances"]


class StaticInstanceProvider(AssociationProvider):
    """The MOF-declared instances of one namespace; read-only."""

    def __init__(self, repository: Repository, namespace: str) -> None:
        self._by_class: dict[str, list[CIMInstance]] = {}
        for inst in repository.static_instances(namespace):
            self._by_class.setdefault(inst.classname.lower(), []).append(inst)

    @property
    def classnames(self) -> list[str]:
        """The classes this provider serves (those with declared instances)."""
        return [insts[0].classname for insts in self._by_class.values()]

    def enumerate_instances(self, ctx: RequestContext, classname: str,
                            property_list: Sequence[str] | None) -> Iterable[CIMInstance]:
        # The operations layer shapes a new instance from each: no copies needed.
        return iter(self._by_class.get(classname.lower(), ()))

    def get_instance(self, ctx: RequestContext, path: CIMInstanceName,
                     property_list: Sequence[str] | None) -> CIMInstance:
        for inst in self._by_class.get(path.classname.lower(), ()):
            if same_keys(inst.path, path):
                return inst
        raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path} in {ctx.namespace}")


def register_static_instances(registry: ProviderRegistry, repository: Repository) -> None:
    """Register a provider for the MOF-declared instances of every namespace."""
    for namespace in repository.namespaces:
        provider = StaticInstanceProvider(repository, namespace)
        if provider.classnames:
            registry.register(namespace, provider.classnames, provider)
