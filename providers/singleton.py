"""Providers of the classes a hypervisor has exactly one instance of: its services and
their capabilities.

:mod:`providers.paths` gives the paths of the usual ones. A subclass says where its one instance is (:meth:`SingletonProvider.path`) and
what it holds (:meth:`SingletonProvider.properties`); GetInstance of any
other path names the first key that differs, in libvirt-cim's words
(``No such instance (InstanceID)``), which its clients look for.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.virt import Hypervisor
from virtcim.provider import InstanceProvider, RequestContext

__all__ = ["SingletonProvider"]


class SingletonProvider(InstanceProvider, abc.ABC):
    """One instance per hypervisor, at :meth:`path`, with :meth:`properties`."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    @abc.abstractmethod
    def path(self, ctx: RequestContext) -> CIMInstanceName:
        """Where the instance is."""

    @abc.abstractmethod
    def properties(self, ctx: RequestContext) -> Mapping[str, Any]:
        """Its values other than its keys."""

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        path = self.path(ctx)
        yield ctx.instance(path.classname, **path.keybindings, **self.properties(ctx))

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        expected = self.path(ctx)
        self._refuse_other(path, expected)
        return next(iter(self.enumerate_instances(ctx, expected.classname, property_list)))

    def _refuse_other(self, path: CIMInstanceName, expected: CIMInstanceName) -> None:
        """``CIM_ERR_NOT_FOUND`` naming the first key of ``path`` that differs from
        ``expected``'s; a class name may differ in case."""
        keys = {name.lower(): value for name, value in path.keybindings.items()}
        for name, value in expected.keybindings.items():
            given = keys.get(name.lower())
            same = (given.lower() == str(value).lower() if name.endswith("CreationClassName")
                    and isinstance(given, str) else given == value)  # fmt: skip
            if not same:
                raise CIMError(CIM_ERR_NOT_FOUND,
                               f"No such instance ({name}): {path} is not the "
                               f"{expected.classname} of {self.hypervisor.uri}")  # fmt: skip
