"""The common base of providers whose instances belong to guests: systems, their
capabilities, settings and devices.

An enumeration walks the request's one guest listing (:func:`providers.memo.guests`)
and asks the subclass for each guest's instances; a GetInstance stays the
subclass's, since it reads only the guest its path names. A guest another
client removes after the listing is left out, whether the listing's walk
finds it gone or a later read of it does (its autostart flag, say): the
other guests are answered.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence

from pywbem import CIMInstance

from providers.memo import guests
from providers.virt import Domain, Hypervisor
from providers.virt.errors import NoSuchGuest
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
        return self.instances_of_each(ctx, [classname], guests(ctx, self.hypervisor))

    def instances_of_each(
        self, ctx: RequestContext, classnames: Sequence[str], domains: Iterable[Domain]
    ) -> Iterator[CIMInstance]:
        """The instances of ``classnames`` of each of ``domains`` (listed or looked up),
        all of a guest or, when it was removed meanwhile, none."""
        for domain in domains:
            try:
                made = [instance for classname in classnames
                        for instance in self.instances_of(ctx, classname, domain)]  # fmt: skip
            except NoSuchGuest:
                continue
            yield from made
