"""What providers make once: one guest listing per request, instances once per domain snapshot.

Every provider that lists guests does it through :func:`guests`, so the
providers one request reaches (the device classes of a deep enumeration,
both ends of an association) ask libvirt about each guest once.

Providers whose instances derive from one domain snapshot alone make them
once per snapshot (:func:`snapshot_instance`): an enumeration of unchanged
guests then hands the operations layer the very
:class:`~virtcim.provider.SharedInstance` objects of the previous one, whose
shaping and encoding the server reuses too. A guest that changed is fetched
as a new :class:`~providers.virt.Domain` snapshot with an empty memo, so no
request sees an instance older than its domain.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from providers.virt import Domain, DomainListing, Hypervisor
from virtcim.provider import RequestContext, SharedInstance

__all__ = ["guests", "snapshot_instance"]


def guests(ctx: RequestContext, hypervisor: Hypervisor) -> DomainListing:
    """Every guest of ``hypervisor``, listed once per request (walk it as often as needed)."""
    return ctx.memo(("guests", hypervisor), hypervisor.listing)


def snapshot_instance(ctx: RequestContext, domain: Domain, classname: str,
                      values: Callable[[], Mapping[str, Any]], *depends: Hashable
                      ) -> SharedInstance:
    """The instance of ``classname`` with ``values()``, made once per snapshot of ``domain``.

    ``values`` must read only ``domain``, ``classname``, the request's
    namespace and repository, and ``depends`` (which names whatever else it
    reads, such as a device id or state kept in memory). The instance
    returned is shared between requests: it must never be changed.
    """
    key = (ctx.repository, ctx.namespace, classname, *depends)
    return domain.memo(key, lambda: ctx.shared_instance(classname, **values()))
