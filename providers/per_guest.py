"""The common base of providers whose instances belong to guests: systems, their
capabilities, settings and devices.

An enumeration walks the request's one guest listing (:func:`providers.memo.guests`)
and asks the subclass for each guest's instances; a GetInstance stays the
subclass's, since it reads only the guest its path names.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence

from pywbem import CIMInstance

from providers.memo import guests
from providers.virt import Domain, Hypervisor
from virtcim.provider import InstanceProvider, RequestContext

__all__ = ["PerGuestProvider"]


class PerGuestProvider(InstanceProvider, abc.ABC):
    """Instances of one hypervisor's guests, found guest by guest."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    @abc.abstractmethod
    def instances_of(
        self, ctx: RequestContext, classname: str, domain: Domain
    ) -> Iterable[CIMInstance]:
        """The instances of ``classname`` that belong to ``domain``."""

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        for domain in guests(ctx, self.hypervisor):
            yield from self.instances_of(ctx, classname, domain)
