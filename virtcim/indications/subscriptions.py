"""Filters, listener destinations and subscriptions (DSP1054), and where indications go.

:class:`IndicationBroker` keeps the three kinds of objects clients create
in the interop namespace, checks each before anything is stored, writes
the permanent ones to the :class:`~virtcim.state.StateStore`
and reads them back at start. :meth:`IndicationBroker.publish` hands an
indication to the sender of every destination whose enabled subscription's
filter selects it.

Objects are known by their ``Name`` (filters, destinations) or by the
names of the filter and destination they join (subscriptions). A
destination's ``PersistenceType`` decides whether it and its subscriptions
outlive the process: 2 Permanent (the default) and 1 Other are kept, 3
Transient never written. Filters are always kept.

A subscription with a ``SubscriptionDuration`` (seconds) ends that long
after its ``SubscriptionStartTime``: it is removed then (also when the
server was stopped at that time: at the next start), and until then its
``SubscriptionTimeRemaining`` says how long it has left.

It is one module, though long, because it is one concept: the broker's
tables of the three kinds of object, which every change checks and stores
under one lock and which publishing reads.
"""

from __future__ import annotations

import contextlib
import logging
import math
import ssl
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint64,
)

from virtcim.deadlines import Deadlines
from virtcim.indications.export import Delivery, ListenerSender, RetryPolicy, checked_url
from virtcim.indications.filters import FilterQuery, compile_filter
from virtcim.repository.schema import Repository
from virtcim.state import StateStore
from virtcim.valuemaps import OnFatalErrorPolicy, PersistenceType, SubscriptionState

__all__ = [
    "DESTINATION_CLASS",
    "HANDLER_CLASS",
    "FILTER_CLASS",
    "SUBSCRIPTION_CLASS",
    "IndicationBroker",
]

log = logging.getLogger(__name__)

FILTER_CLASS = "CIM_IndicationFilter"
DESTINATION_CLASS = "CIM_ListenerDestinationCIMXML"
#: Its deprecated forerunner, which libvirt-cim's clients (cimtest) still create.
HANDLER_CLASS = "CIM_IndicationHandlerCIMXML"
SUBSCRIPTION_CLASS = "CIM_IndicationSubscription"
#: The system a filter or destination is scoped to, when the client names none.
SYSTEM_CLASS = "CIM_ComputerSystem"
#: What a server may hold, as its capabilities say.
MAX_DESTINATIONS = 100
MAX_SUBSCRIPTIONS = 100
#: Subscription properties a client may change (DSP1054); the rest are fixed at creation.
_MODIFIABLE = frozenset(name.lower() for name in (
    "SubscriptionState", "OnFatalErrorPolicy", "OtherOnFatalErrorPolicy",
    "FailureTriggerTimeInterval", "SubscriptionDuration", "SubscriptionInfo",
    "RepeatNotificationPolicy", "OtherRepeatNotificationPolicy", "RepeatNotificationInterval",
    "RepeatNotificationGap", "RepeatNotificationCount", "OtherSubscriptionState",
))
_KEYS = ("SystemCreationClassName", "SystemName", "CreationClassName", "Name")


@dataclass
class _Filter:
    values: dict[str, Any]
    query: FilterQuery
    #: Lower-cased canonical namespaces whose indications it takes; empty: every one.
    namespaces: frozenset[str]

    @property
    def name(self) -> str:
        return str(self.values["Name"])


@dataclass
class _Destination:
    values: dict[str, Any]
    sender: ListenerSender

    @property
    def name(self) -> str:
        return str(self.values["Name"])

    @property
    def permanent(self) -> bool:
        return self.values.get("PersistenceType") != PersistenceType.TRANSIENT


@dataclass
class _Subscription:
    filter: _Filter
    destination: _Destination
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.filter.name, self.destination.name)

    @property
    def enabled(self) -> bool:
        return self.values.get("SubscriptionState") == SubscriptionState.ENABLED


class IndicationBroker:
    """The subscriptions of one server, and the way from an indication to its listeners.

    ``interop`` is the namespace the objects live in, ``host`` the system
    name they are scoped to, ``tls`` how HTTPS listeners are verified
    (:func:`virtcim.http.tls.listener_context`). Thread-safe.
    """

    def __init__(self, repository: Repository, interop: str, host: str,
                 store: StateStore, *, queue_capacity: int = 1000,
                 timeout: float = 10.0, tls: ssl.SSLContext | None = None) -> None:
        self.repository = repository
        self.interop = interop
        self.host = host
        self.retry = RetryPolicy()
        self._store = store
        self._capacity = queue_capacity
        self._timeout = timeout
        self._tls = tls
        self._lock = threading.RLock()
        self._filters: dict[str, _Filter] = {}
        self._destinations: dict[str, _Destination] = {}
        self._subscriptions: dict[tuple[str, str], _Subscription] = {}
        #: Called with ``True`` when the first subscription appears, ``False`` after the last.
        self._watchers: list[Callable[[bool], None]] = []
        self._ends = Deadlines(self._expire, "subscription expiry")
        self._load()

    # -- what producers ask -----------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether any subscription is enabled (producers skip their work otherwise)."""
        return any(sub.enabled for sub in list(self._subscriptions.values()))

    def selects(self, classnames: Iterable[str], source: str | None = None) -> bool:
        """Whether an enabled subscription's filter selects indications of one of ``classnames``
        (about a ``SourceInstance`` of class ``source``), as far as the classes decide, so that
        a producer knows what is worth making."""
        with self._lock:
            queries = [sub.filter.query for sub in self._subscriptions.values() if sub.enabled]
        return any(query.selects_class(name, source) for query in queries for name in classnames)

    def publish(self, indication: CIMInstance, namespace: str) -> None:
        """Queue ``indication`` (from ``namespace``) for every subscription that selects it."""
        source = namespace.lower()
        with self._lock:
            subscriptions = [sub for sub in self._subscriptions.values() if sub.enabled]
        for sub in subscriptions:
            if sub.filter.namespaces and source not in sub.filter.namespaces:
                continue
            if not sub.filter.query.matches(indication):
                continue
            copy = indication.copy()
            copy["IndicationFilterName"] = sub.filter.name
            sub.destination.sender.submit(Delivery(copy, sub.key))

    @property
    def dropped(self) -> int:
        """Indications dropped by full destination queues since the start."""
        with self._lock:
            return sum(d.sender.dropped for d in self._destinations.values())

    def close(self) -> None:
        self._ends.close()
        with self._lock:
            destinations = list(self._destinations.values())
        for destination in destinations:
            destination.sender.close()

    # -- filters --------------------------------------------------------------

    def create_filter(self, inst: CIMInstance) -> dict[str, Any]:
        values = self._scoped(inst, FILTER_CLASS)
        query, language = values.get("Query"), values.get("QueryLanguage")
        if not query or not language:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{FILTER_CLASS} {values['Name']!r} needs Query and QueryLanguage")
        namespaces = self._source_namespaces(values)
        compiled = compile_filter(language, query, self.repository, self.interop)
        with self._lock:
            if values["Name"] in self._filters:
                raise CIMError(CIM_ERR_ALREADY_EXISTS,
                               f"{FILTER_CLASS} {values['Name']!r} already exists")
            self._store.put("filter", values["Name"], _plain(values))
            self._filters[values["Name"]] = _Filter(values, compiled, namespaces)
        return values

    def filters(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.values for f in self._filters.values()]

    def filter(self, path: CIMInstanceName) -> dict[str, Any]:
        return self._named(self._filters, path, FILTER_CLASS).values

    def delete_filter(self, path: CIMInstanceName) -> None:
        with self._lock:
            found = self._named(self._filters, path, FILTER_CLASS)
            if any(sub.filter is found for sub in self._subscriptions.values()):
                raise CIMError(CIM_ERR_FAILED, f"{FILTER_CLASS} {found.name!r} is in use by a "
                                               f"subscription; delete the subscription first")
            self._store.delete(("filter", found.name))
            del self._filters[found.name]

    # -- destinations ---------------------------------------------------------

    def create_destination(self, inst: CIMInstance) -> dict[str, Any]:
        values = self._scoped(inst, DESTINATION_CLASS, HANDLER_CLASS)
        url = values.get("Destination")
        if not url:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{DESTINATION_CLASS} {values['Name']!r} needs a Destination URL")
        checked_url(url)
        protocol = values.setdefault("Protocol", 2)
        if protocol != 2:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{DESTINATION_CLASS} {values['Name']!r}: Protocol {protocol} is not "
                           f"2 (CIM-XML)")
        persistence = values.setdefault("PersistenceType", PersistenceType.PERMANENT)
        if persistence not in PersistenceType.__members__.values():
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{DESTINATION_CLASS} {values['Name']!r}: PersistenceType "
                           f"{persistence} is not 1, 2 or 3")
        with self._lock:
            if values["Name"] in self._destinations:
                raise CIMError(CIM_ERR_ALREADY_EXISTS,
                               f"{DESTINATION_CLASS} {values['Name']!r} already exists")
            if len(self._destinations) >= MAX_DESTINATIONS:
                raise CIMError(CIM_ERR_FAILED, f"no more than {MAX_DESTINATIONS} listener "
                                               f"destinations")
            destination = _Destination(values, self._sender(values))
            if destination.permanent:
                try:
                    self._store.put("destination", destination.name, _plain(values))
                except CIMError:
                    destination.sender.close(wait=0)
                    raise
            self._destinations[destination.name] = destination
        return values

    def destinations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d.values for d in self._destinations.values()]

    def destination(self, path: CIMInstanceName) -> dict[str, Any]:
        return self._named(self._destinations, path, DESTINATION_CLASS).values

    def delete_destination(self, path: CIMInstanceName) -> None:
        """Delete a destination; a transient one takes its subscriptions with it."""
        with self._lock:
            found = self._named(self._destinations, path, DESTINATION_CLASS)
            subs = [s for s in self._subscriptions.values() if s.destination is found]
            if subs and found.permanent:
                raise CIMError(CIM_ERR_FAILED, f"{DESTINATION_CLASS} {found.name!r} is in use "
                                               f"by a subscription; delete it first")
            self._store.delete(("destination", found.name))
            for sub in subs:
                self._forget(sub)
            del self._destinations[found.name]
        found.sender.close(wait=0)
        self._tell_watchers()

    # -- subscriptions --------------------------------------------------------

    def create_subscription(self, inst: CIMInstance) -> tuple[str, str]:
        values = {name: prop.value for name, prop in inst.properties.items()
                  if prop.value is not None}
        filter_path, handler_path = values.pop("Filter", None), values.pop("Handler", None)
        if not isinstance(filter_path, CIMInstanceName) or \
                not isinstance(handler_path, CIMInstanceName):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{SUBSCRIPTION_CLASS} needs its Filter and Handler references")
        values.setdefault("SubscriptionState", SubscriptionState.ENABLED)
        values.setdefault("OnFatalErrorPolicy", OnFatalErrorPolicy.IGNORE)
        now = CIMDateTime.now()
        values.setdefault("SubscriptionStartTime", now)
        values["TimeOfLastStateChange"] = now
        values.pop("SubscriptionTimeRemaining", None)
        _check_settings(values)
        with self._lock:
            found_filter = self._referenced(self._filters, filter_path, FILTER_CLASS, "Filter")
            destination = self._referenced(self._destinations, handler_path, DESTINATION_CLASS,
                                           "Handler")
            sub = _Subscription(found_filter, destination, values)
            if sub.key in self._subscriptions:
                raise CIMError(CIM_ERR_ALREADY_EXISTS,
                               f"{SUBSCRIPTION_CLASS} of filter {sub.key[0]!r} to destination "
                               f"{sub.key[1]!r} already exists")
            if len(self._subscriptions) >= MAX_SUBSCRIPTIONS:
                raise CIMError(CIM_ERR_FAILED, f"no more than {MAX_SUBSCRIPTIONS} subscriptions")
            self._save(sub)
            self._subscriptions[sub.key] = sub
            self._schedule(sub)
        self._tell_watchers()
        return sub.key

    def subscriptions(self) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        with self._lock:
            return [(key, self._shown(sub)) for key, sub in self._subscriptions.items()]

    def subscription(self, path: CIMInstanceName) -> dict[str, Any]:
        with self._lock:
            return self._shown(self._subscription(path))

    def modify_subscription(self, path: CIMInstanceName, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` (property name to value) to the subscription at ``path``.

        ``CIM_ERR_NOT_SUPPORTED`` for a property DSP1054 does not let change.
        """
        with self._lock:
            sub = self._subscription(path)
            values = dict(sub.values)
            for name, value in changes.items():
                if name.lower() in ("filter", "handler", "subscriptiontimeremaining"):
                    continue
                if name.lower() not in _MODIFIABLE:
                    if values.get(name) != value:
                        raise CIMError(CIM_ERR_NOT_SUPPORTED,
                                       f"{SUBSCRIPTION_CLASS}.{name} cannot be changed")
                    continue
                values[name] = value
            _check_settings(values)
            if values.get("SubscriptionState") != sub.values.get("SubscriptionState"):
                values["TimeOfLastStateChange"] = CIMDateTime.now()
            updated = _Subscription(sub.filter, sub.destination, values)
            self._save(updated)
            self._subscriptions[sub.key] = updated
            self._schedule(updated)
        self._tell_watchers()

    def delete_subscription(self, path: CIMInstanceName) -> None:
        with self._lock:
            self._forget(self._subscription(path))
        self._tell_watchers()

    def subscription_path(self, key: tuple[str, str]) -> CIMInstanceName:
        with self._lock:
            sub = self._subscriptions[key]
        return self.repository.build_path(self.interop, SUBSCRIPTION_CLASS, {
            "Filter": self.filter_path(sub.filter.values),
            "Handler": self.destination_path(sub.destination.values),
        })

    def filter_path(self, values: Mapping[str, Any]) -> CIMInstanceName:
        return self.repository.build_path(self.interop, FILTER_CLASS,
                                          {k: values[k] for k in _KEYS})

    def destination_path(self, values: Mapping[str, Any]) -> CIMInstanceName:
        return self.repository.build_path(self.interop, values["CreationClassName"],
                                          {k: values[k] for k in _KEYS})

    def watch(self, watcher: Callable[[bool], None]) -> None:
        """Call ``watcher(active)`` whenever subscriptions change (and once now)."""
        self._watchers.append(watcher)
        watcher(self.active)

    # -- delivery failures ----------------------------------------------------

    def _delivery_failed(self, delivery: Delivery) -> None:
        """A delivery failed every retry: its subscription's OnFatalErrorPolicy decides.

        When the store cannot take the change (logged there), the subscription
        stays as stored; the next failed delivery tries again.
        """
        with contextlib.suppress(CIMError):
            self._apply_fatal_error_policy(delivery)
        self._tell_watchers()

    def _apply_fatal_error_policy(self, delivery: Delivery) -> None:
        with self._lock:
            sub = self._subscriptions.get(delivery.subscription)  # type: ignore[call-overload]
            if sub is None:
                return
            policy = sub.values.get("OnFatalErrorPolicy")
            if policy == OnFatalErrorPolicy.DISABLE and sub.enabled:
                log.warning("subscription of filter %r to %r disabled after a failed delivery",
                            *sub.key)
                values = {**sub.values, "SubscriptionState": SubscriptionState.DISABLED,
                          "TimeOfLastStateChange": CIMDateTime.now()}
                updated = _Subscription(sub.filter, sub.destination, values)
                self._save(updated)
                self._subscriptions[sub.key] = updated
            elif policy == OnFatalErrorPolicy.REMOVE:
                log.warning("subscription of filter %r to %r removed after a failed delivery",
                            *sub.key)
                self._forget(sub)

    # -- durations ------------------------------------------------------------

    def _schedule(self, sub: _Subscription) -> None:
        """Remove ``sub`` when its SubscriptionDuration runs out (none: never)."""
        end = _end(sub.values)
        if end is None:
            self._ends.cancel(sub.key)
        else:
            self._ends.set(sub.key, end)

    def _expire(self, key: Any) -> None:
        with self._lock:
            sub = self._subscriptions.get(key)
            if sub is None:
                return
            log.info("subscription of filter %r to %r removed: its SubscriptionDuration of "
                     "%s s has run out", *key, sub.values.get("SubscriptionDuration"))
            self._forget(sub)
        self._tell_watchers()

    def _shown(self, sub: _Subscription) -> dict[str, Any]:
        """What a client reads of ``sub``: its values, and the time it has left."""
        remaining = self._ends.remaining(sub.key)
        if remaining is None:
            return sub.values
        return {**sub.values, "SubscriptionTimeRemaining": Uint64(math.ceil(remaining))}

    def _forget(self, sub: _Subscription) -> None:
        self._ends.cancel(sub.key)
        self._store.delete(("subscription", _subscription_name(sub.key)))
        del self._subscriptions[sub.key]

    # -- helpers --------------------------------------------------------------

    def _sender(self, values: Mapping[str, Any]) -> ListenerSender:
        return ListenerSender(str(values["Name"]), str(values["Destination"]), self.retry,
                              self._delivery_failed, capacity=self._capacity,
                              timeout=self._timeout, ssl_context=self._tls)

    def _scoped(self, inst: CIMInstance, *classnames: str) -> dict[str, Any]:
        """The client's values, with the keys it left out filled in; ``inst`` must be of one
        of ``classnames``."""
        classname = next((name for name in classnames
                          if name.lower() == inst.classname.lower()), None)
        if classname is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{inst.classname} instances cannot be "
                                                  f"created; create {classnames[0]}")
        values = {name: prop.value for name, prop in inst.properties.items()
                  if prop.value is not None}
        given = values.get("CreationClassName")
        if given is not None and str(given).lower() != classname.lower():
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{classname}: CreationClassName {given!r} is not {classname}")
        values["CreationClassName"] = classname
        values.setdefault("SystemCreationClassName", SYSTEM_CLASS)
        values.setdefault("SystemName", self.host)
        values.setdefault("Name", f"virtcim:{uuid.uuid4()}")
        if not str(values["Name"]).strip():
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{classname}: Name is empty")
        return values

    def _source_namespaces(self, values: Mapping[str, Any]) -> frozenset[str]:
        names = list(values.get("SourceNamespaces") or [])
        if values.get("SourceNamespace"):
            names.append(values["SourceNamespace"])
        canonical = set()
        for name in names:
            try:
                canonical.add(self.repository.canonical_namespace(name).lower())
            except CIMError:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"{FILTER_CLASS} {values['Name']!r}: no namespace {name!r}"
                               ) from None
        return frozenset(canonical)

    def _named(self, table: Mapping[str, Any], path: CIMInstanceName, classname: str) -> Any:
        """The object of ``table`` at ``path`` (of its own class): ``CIM_ERR_NOT_FOUND``
        naming a ``classname`` otherwise."""
        name = path.keybindings.get("Name")
        found = _by_name(table, name)
        if found is None or path.classname.lower() != found.values["CreationClassName"].lower():
            raise CIMError(CIM_ERR_NOT_FOUND, f"no {classname} {name!r} in {self.interop}")
        return found

    def _referenced(self, table: Mapping[str, Any], path: CIMInstanceName, classname: str,
                    role: str) -> Any:
        try:
            return self._named(table, path, classname)
        except CIMError:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{SUBSCRIPTION_CLASS}: the {role} {path} does not exist") from None

    def _subscription(self, path: CIMInstanceName) -> _Subscription:
        keys = path.keybindings
        filter_path, handler_path = keys.get("Filter"), keys.get("Handler")
        if isinstance(filter_path, CIMInstanceName) and isinstance(handler_path, CIMInstanceName):
            found_filter = _by_name(self._filters, filter_path.keybindings.get("Name"))
            destination = _by_name(self._destinations, handler_path.keybindings.get("Name"))
            if found_filter is not None and destination is not None:
                sub = self._subscriptions.get((found_filter.name, destination.name))
                if sub is not None:
                    return sub
        raise CIMError(CIM_ERR_NOT_FOUND, f"no {SUBSCRIPTION_CLASS} {path} in {self.interop}")

    def _save(self, sub: _Subscription) -> None:
        if sub.destination.permanent:
            body = {"filter": sub.key[0], "destination": sub.key[1], "values": _plain(sub.values)}
            self._store.put("subscription", _subscription_name(sub.key), body)

    def _tell_watchers(self) -> None:
        active = self.active
        for watcher in self._watchers:
            watcher(active)

    def _load(self) -> None:
        """Read back the permanent objects; one that no longer reads is logged and skipped."""
        for _, body in self._store.records("setting"):
            self.retry.attempts = int(body.get("attempts", self.retry.attempts))
            self.retry.interval = float(body.get("interval", self.retry.interval))
        for name, stored in self._store.records("filter"):
            values = _typed(stored)
            try:
                query = compile_filter(values["QueryLanguage"], values["Query"],
                                       self.repository, self.interop)
                self._filters[name] = _Filter(values, query, self._source_namespaces(values))
            except (CIMError, KeyError) as error:
                log.error("stored indication filter %r is not restored: %s", name, error)
        for name, stored in self._store.records("destination"):
            values = _typed(stored)
            self._destinations[name] = _Destination(values, self._sender(values))
        for name, body in self._store.records("subscription"):
            found_filter = self._filters.get(str(body.get("filter")))
            destination = self._destinations.get(str(body.get("destination")))
            if found_filter is None or destination is None:
                log.error("stored subscription %r is not restored: its filter or destination "
                          "is gone", name)
                continue
            values = _typed(body.get("values", {}))
            sub = _Subscription(found_filter, destination, values)
            self._subscriptions[sub.key] = sub
            self._schedule(sub)

    def set_retry_policy(self, attempts: int, interval: float) -> None:
        """Store the delivery retry policy, then apply it."""
        self._store.put("setting", "retry", {"attempts": attempts, "interval": interval})
        self.retry.attempts, self.retry.interval = attempts, interval


def _check_settings(values: Mapping[str, Any]) -> None:
    state = values.get("SubscriptionState")
    if state not in (SubscriptionState.ENABLED, SubscriptionState.DISABLED):
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{SUBSCRIPTION_CLASS}: SubscriptionState "
                                                  f"{state} is not 2 (Enabled) or 4 (Disabled)")
    policy = values.get("OnFatalErrorPolicy")
    if policy not in OnFatalErrorPolicy.__members__.values():
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{SUBSCRIPTION_CLASS}: OnFatalErrorPolicy "
                                                  f"{policy} is not 2, 3 or 4")
    duration = values.get("SubscriptionDuration")
    if duration is not None and (not isinstance(duration, int) or duration < 1):
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{SUBSCRIPTION_CLASS}: SubscriptionDuration "
                                                  f"{duration} is not a number of seconds")
    start = values.get("SubscriptionStartTime")
    if not isinstance(start, CIMDateTime) or start.datetime is None:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{SUBSCRIPTION_CLASS}: SubscriptionStartTime "
                                                  f"{start} is not a point in time")


def _end(values: Mapping[str, Any]) -> float | None:
    """When a subscription with ``values`` ends (seconds since the epoch); ``None``: never."""
    duration = values.get("SubscriptionDuration")
    if duration is None:
        return None
    return float(values["SubscriptionStartTime"].datetime.timestamp() + int(duration))


def _by_name(table: Mapping[str, Any], name: object) -> Any:
    """The object named ``name``, or ``None``. A name with whitespace around it finds the
    object named without, as libvirt-cim's brokers found it: its clients write key values
    on lines of their own."""
    if not isinstance(name, str):
        return None
    return table.get(name) or table.get(name.strip())


def _subscription_name(key: tuple[str, str]) -> str:
    return "\x00".join(key)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as JSON can hold them: datetimes as their CIM text, integers as ints."""
    return {name: _plain_value(value) for name, value in values.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain_value(item) for item in value]
    if isinstance(value, CIMDateTime):
        return {"datetime": str(value)}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    return str(value)


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored values back as Python values: datetimes as :class:`CIMDateTime`."""
    return {name: CIMDateTime(value["datetime"]) if isinstance(value, dict) else value
            for name, value in values.items()}

