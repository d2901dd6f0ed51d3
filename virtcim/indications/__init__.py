"""Indications (DSP1054): subscriptions, filters, and delivery to CIM-XML listeners.

Clients subscribe in the interop namespace (:mod:`.providers`); the
:class:`IndicationBroker` keeps the subscriptions (:mod:`.subscriptions`,
permanent ones in :mod:`virtcim.state`) and hands each published indication to
the queue and sender of every listener whose filter (:mod:`.filters`)
selects it (:mod:`.export`). Producers (the libvirt event translator in
``providers/``) call :meth:`IndicationBroker.publish`.
"""

from __future__ import annotations

from virtcim.indications.providers import (
    ClientObjectProvider,
    IndicationServiceProvider,
    SubscriptionProvider,
)
from virtcim.indications.subscriptions import (
    DESTINATION_CLASS,
    FILTER_CLASS,
    HANDLER_CLASS,
    SUBSCRIPTION_CLASS,
    IndicationBroker,
)
from virtcim.interop import Organization, ProfileRegistry
from virtcim.provider import ProviderRegistry

__all__ = ["IndicationBroker", "register_indications"]

def register_indications(registry: ProviderRegistry, profiles: ProfileRegistry,
                         broker: IndicationBroker) -> None:
    """Serve ``broker``'s subscriptions and service in the interop namespace; register DSP1054."""
    interop = profiles.interop_namespace
    registry.register(interop, [FILTER_CLASS], ClientObjectProvider.of_filters(broker))
    registry.register(interop, [DESTINATION_CLASS, HANDLER_CLASS],
                      ClientObjectProvider.of_destinations(broker))
    registry.register(interop, [SUBSCRIPTION_CLASS], SubscriptionProvider(broker))
    registry.register(interop, IndicationServiceProvider.classnames,
                      IndicationServiceProvider(broker))
    profiles.register(
        Organization.DMTF, "Indications", "1.2.0", document="DSP1054",
        central_classes=[(interop, "CIM_IndicationService")],
            )
