"""The interop classes of DSP1054 Indications, served from an :class:`IndicationBroker`.

``CIM_IndicationFilter``, ``CIM_ListenerDestinationCIMXML`` and
``CIM_IndicationSubscription`` (the association between them) are created,
read, changed and deleted by clients; the indication service
(``VirtCIM_IndicationService``, a ``CIM_IndicationService``), its
capabilities and the ``CIM_ElementCapabilities`` link between them describe
the delivery, and the service's ``DeliveryRetryAttempts`` and
``DeliveryRetryInterval`` may be changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from virtcim.indications.subscriptions import (
    MAX_DESTINATIONS,
    MAX_SUBSCRIPTIONS,
    SUBSCRIPTION_CLASS,
    SYSTEM_CLASS,
    IndicationBroker,
)
from virtcim.provider import (
    AssociationProvider,
    InstanceProvider,
    RequestContext,
    refers_to,
    same_keys,
)
from virtcim.valuemaps import EnabledState, OperationalStatus, SubscriptionRemovalAction

__all__ = [
    "CAPABILITIES_CLASS",
    "SERVICE_CLASS",
    "ClientObjectProvider",
    "IndicationServiceProvider",
    "SubscriptionProvider",
]

SERVICE_CLASS = "VirtCIM_IndicationService"
CAPABILITIES_CLASS = "CIM_IndicationServiceCapabilities"
ELEMENT_CAPABILITIES_CLASS = "CIM_ElementCapabilities"
SERVICE_NAME = "IndicationService"
CAPABILITIES_ID = "virtcim:IndicationServiceCapabilities"
#: Longest DeliveryRetryInterval a client may set (s), and most DeliveryRetryAttempts.
MAX_RETRY_INTERVAL = 3600
MAX_RETRY_ATTEMPTS = 10


Values = dict[str, Any]


class ClientObjectProvider(InstanceProvider):
    """Objects clients create and name: filters (``CIM_IndicationFilter``, the queries
    clients subscribe with) or destinations (``CIM_ListenerDestinationCIMXML``, the
    listeners indications go to), through the broker's functions for their kind."""

    def __init__(self, listing: Callable[[], list[Values]],
                 lookup: Callable[[CIMInstanceName], Values],
                 create: Callable[[CIMInstance], Values],
                 delete: Callable[[CIMInstanceName], None],
                 path: Callable[[Values], CIMInstanceName]) -> None:
        self._listing, self._lookup, self._create = listing, lookup, create
        self._delete, self._path = delete, path

    @classmethod
    def of_filters(cls, broker: IndicationBroker) -> ClientObjectProvider:
        return cls(broker.filters, broker.filter, broker.create_filter, broker.delete_filter,
                   broker.filter_path)

    @classmethod
    def of_destinations(cls, broker: IndicationBroker) -> ClientObjectProvider:
        return cls(broker.destinations, broker.destination, broker.create_destination,
                   broker.delete_destination, broker.destination_path)

    def enumerate_instances(self, ctx: RequestContext, classname: str,
                            property_list: Sequence[str] | None) -> Iterable[CIMInstance]:
        return [ctx.instance(classname, **values) for values in self._listing()
                if values["CreationClassName"].lower() == classname.lower()]

    def get_instance(self, ctx: RequestContext, path: CIMInstanceName,
                     property_list: Sequence[str] | None) -> CIMInstance:
        return _exactly(ctx.instance(path.classname, **self._lookup(path)), path)

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        return self._path(self._create(instance))

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        self._delete(path)


class SubscriptionProvider(AssociationProvider):
    """``CIM_IndicationSubscription``: which filter's indications go to which listener."""

    def __init__(self, broker: IndicationBroker) -> None:
        self.broker = broker

    def enumerate_instances(self, ctx: RequestContext, classname: str,
                            property_list: Sequence[str] | None) -> Iterable[CIMInstance]:
        namespace = ctx.addressed or ctx.namespace
        return [self._instance(ctx, key, values, namespace)
                for key, values in self.broker.subscriptions()]

    def get_instance(self, ctx: RequestContext, path: CIMInstanceName,
                     property_list: Sequence[str] | None) -> CIMInstance:
        values = self.broker.subscription(path)
        key = (path["Filter"]["Name"], path["Handler"]["Name"])
        return self._instance(ctx, key, values, ctx.addressed or ctx.namespace)

    def references(self, ctx: RequestContext, classname: str, source: CIMInstanceName,
                   role: str | None) -> Iterable[CIMInstance]:
        for key, values in self.broker.subscriptions():
            link = self._instance(ctx, key, values, ctx.namespace)
            if refers_to(link, source, role):
                yield link

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        key = self.broker.create_subscription(instance)
        return self._instance(ctx, key, {}, ctx.addressed or ctx.namespace).path

    def modify_instance(self, ctx: RequestContext, instance: CIMInstance,
                        property_list: Sequence[str] | None) -> None:
        names = property_list if property_list is not None else list(instance.properties)
        changes = {name: instance.properties[name].value
                   for name in names if name in instance.properties}
        self.broker.modify_subscription(instance.path, changes)

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        self.broker.delete_subscription(path)

    def _instance(self, ctx: RequestContext, key: tuple[str, str], values: dict[str, Any],
                  namespace: str) -> CIMInstance:
        """The subscription, its references naming ``namespace``.

        Enumerated and fetched, they name the namespace as the client did:
        pywbem recognises the subscriptions of its own filters and
        destinations by comparing these references with the paths it
        enumerated, namespace included; asked through ``interop``, they say
        ``interop``. Traversals compare them with the canonical name."""
        ends = {}
        for role, end in self.broker.subscription_path(key).keybindings.items():
            end = end.copy()
            end.namespace = namespace
            ends[role] = end
        return ctx.instance(SUBSCRIPTION_CLASS, **values, **ends)


class IndicationServiceProvider(AssociationProvider):
    """The indication service, its capabilities, and the link between them."""

    classnames = (SERVICE_CLASS, CAPABILITIES_CLASS, ELEMENT_CAPABILITIES_CLASS)

    def __init__(self, broker: IndicationBroker) -> None:
        self.broker = broker

    def enumerate_instances(self, ctx: RequestContext, classname: str,
                            property_list: Sequence[str] | None) -> Iterable[CIMInstance]:
        make = {SERVICE_CLASS.lower(): self._service,
                CAPABILITIES_CLASS.lower(): self._capabilities,
                ELEMENT_CAPABILITIES_CLASS.lower(): self._link}.get(classname.lower())
        if make is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{classname} is not served by {self!r}")
        return [make(ctx)]

    def modify_instance(self, ctx: RequestContext, instance: CIMInstance,
                        property_list: Sequence[str] | None) -> None:
        """The service's DeliveryRetryAttempts and DeliveryRetryInterval may change."""
        current = self._service(ctx)
        if instance.classname.lower() != SERVICE_CLASS.lower() or \
                not same_keys(current.path, instance.path):
            raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {instance.path}")
        names = property_list if property_list is not None else list(instance.properties)
        retry = self.broker.retry
        attempts, interval = retry.attempts, retry.interval
        for name in names:
            value = instance.properties[name].value if name in instance.properties else None
            if name.lower() == "deliveryretryattempts" and value is not None:
                attempts = _bounded(name, value, MAX_RETRY_ATTEMPTS)
            elif name.lower() == "deliveryretryinterval" and value is not None:
                interval = _bounded(name, value, MAX_RETRY_INTERVAL)
            elif current.properties.get(name) is None or \
                    current.properties[name].value != value:
                raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{SERVICE_CLASS}.{name} cannot be changed")
        self.broker.set_retry_policy(attempts, interval)

    def _service_keys(self) -> dict[str, str]:
        return {"SystemCreationClassName": SYSTEM_CLASS, "SystemName": self.broker.host,
                "CreationClassName": SERVICE_CLASS, "Name": SERVICE_NAME}

    def _service(self, ctx: RequestContext) -> CIMInstance:
        return ctx.instance(
            SERVICE_CLASS, **self._service_keys(),
            ElementName="virtcim indication service",
            FilterCreationEnabled=True,
            DeliveryRetryAttempts=self.broker.retry.attempts,
            DeliveryRetryInterval=int(self.broker.retry.interval),
            # A subscription whose listener stays unreachable is kept: its own
            # OnFatalErrorPolicy decides after each failed delivery.
            SubscriptionRemovalAction=SubscriptionRemovalAction.IGNORE,
            Started=True, EnabledState=EnabledState.ENABLED,
            OperationalStatus=[OperationalStatus.OK],
            DroppedIndications=self.broker.dropped,
        )

    def _capabilities(self, ctx: RequestContext) -> CIMInstance:
        return ctx.instance(
            CAPABILITIES_CLASS, InstanceID=CAPABILITIES_ID,
            ElementName="virtcim indication service capabilities",
            FilterCreationEnabledIsSettable=False,
            DeliveryRetryAttemptsIsSettable=True,
            DeliveryRetryIntervalIsSettable=True,
            SubscriptionRemovalActionIsSettable=False,
            SubscriptionRemovalTimeIntervalIsSettable=False,
            MaxListenerDestinations=MAX_DESTINATIONS,
            MaxActiveSubscriptions=MAX_SUBSCRIPTIONS,
            SubscriptionsPersisted=True,
        )

    def _link(self, ctx: RequestContext) -> CIMInstance:
        return ctx.instance(
            ELEMENT_CAPABILITIES_CLASS,
            ManagedElement=ctx.path(SERVICE_CLASS, **self._service_keys()),
            Capabilities=ctx.path(CAPABILITIES_CLASS, InstanceID=CAPABILITIES_ID),
        )


def _exactly(instance: CIMInstance, path: CIMInstanceName) -> CIMInstance:
    if not same_keys(instance.path, path):
        raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path}")
    return instance


def _bounded(name: str, value: Any, most: int) -> int:
    if not 0 <= int(value) <= most:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{SERVICE_CLASS}.{name} must be between 0 "
                                                  f"and {most}, not {value}")
    return int(value)
