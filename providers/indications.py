"""Indications of guests', pools' and networks' changes, made from libvirt's own events.

Every domain event of a hypervisor (a change made through CIM, ``virsh`` or
any other libvirt client) becomes one of libvirt-cim's indications:
``<Prefix>_ComputerSystemCreatedIndication`` (a ``CIM_InstCreation``) when
a guest is defined or a guest without a definition starts,
``…DeletedIndication`` (a ``CIM_InstDeletion``) when it is undefined or a
guest without a definition stops, and ``…ModifiedIndication`` (a
``CIM_InstModification``) for every other change of state, definition or
devices. ``SourceInstance`` is the guest's ``ComputerSystem`` as it is
when the event is read, ``PreviousInstance`` as the last event left it.
A storage pool's or network's lifecycle event gives a ``CIM_InstCreation``
(defined), ``CIM_InstDeletion`` (undefined) or ``CIM_InstModification``
(started, stopped...) of its ``DiskPool`` or ``NetworkPool``. Nothing polls.

A guest's resource settings (its ``<Prefix>_*ResourceAllocationSettingData``)
are compared before and after each of its events, as its ``ComputerSystem``
is: a setting that appeared gives a
``<Prefix>_ResourceAllocationSettingDataCreatedIndication``, one that went a
``…DeletedIndication``, one that changed a ``…ModifiedIndication`` with its
``PreviousInstance``; so does every setting of a guest defined or undefined.
Settings are read only while a subscription selects these classes.

libvirt's event thread only queues the event; one thread of this module
reads the guest and publishes, in the order libvirt gave the events, and
only while some subscription is enabled.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pywbem import CIM_ERR_NOT_FOUND, CIMDateTime, CIMError, CIMInstance, CIMInstanceName, Uint16

from providers.classes import VIRT_NAMESPACE
from providers.computer_system import STATE_VIEWS
from providers.paths import guest_path, pool_path
from providers.settings import guest_settings
from providers.valuemaps import EnabledState
from providers.virt import (
    DEFINED_ADDED,
    DomainEventID,
    DomainState,
    Event,
    Hypervisor,
    Lifecycle,
    PoolEventID,
    PoolLifecycle,
    naming,
)
from providers.virt.errors import NoSuchGuest
from virtcim.indications import IndicationBroker
from virtcim.provider import RequestContext

__all__ = ["LibvirtIndications", "setting_changes"]

log = logging.getLogger(__name__)

CREATED = "ComputerSystemCreatedIndication"
DELETED = "ComputerSystemDeletedIndication"
MODIFIED = "ComputerSystemModifiedIndication"
SETTING_CREATED = "ResourceAllocationSettingDataCreatedIndication"
SETTING_DELETED = "ResourceAllocationSettingDataDeletedIndication"
SETTING_MODIFIED = "ResourceAllocationSettingDataModifiedIndication"
#: The class every source of those is.
SETTINGS_BASE = "CIM_ResourceAllocationSettingData"
#: Events waiting to be read; past this, libvirt's thread drops (and logs) rather than waits.
EVENT_QUEUE = 10_000
#: The domain events that change what a guest's ComputerSystem or devices show.
_WATCHED = frozenset({
    DomainEventID.LIFECYCLE,
    DomainEventID.DEVICE_ADDED,
    DomainEventID.DEVICE_REMOVED,
})
#: The state each lifecycle event leaves a guest in. The guest is read when the
#: event is, perhaps after later changes; its state is the event's.
_STATE_AFTER = {
    Lifecycle.STARTED: DomainState.RUNNING,
    Lifecycle.RESUMED: DomainState.RUNNING,
    Lifecycle.SUSPENDED: DomainState.PAUSED,
    Lifecycle.STOPPED: DomainState.SHUTOFF,
    Lifecycle.CRASHED: DomainState.CRASHED,
    Lifecycle.PMSUSPENDED: DomainState.PMSUSPENDED,
}
#: The lifecycle events of storage pools and networks, and the pool each is shown as.
_POOL_EVENTS = {"pool": frozenset({PoolEventID.STORAGE_POOL_LIFECYCLE}),
                "network": frozenset({PoolEventID.NETWORK_LIFECYCLE})}
_POOL_KINDS = {"pool": "DiskPool", "network": "NetworkPool"}
#: libvirt-cim's deleted guest: DMTF's 1 Other, and what it says.
_DESTROYED_STATE = 1
_DESTROYED_TEXT = "Guest destroyed"


#: A guest's resource settings by InstanceID.
_Settings = dict[str, CIMInstance]


@dataclass(frozen=True)
class _Guest:
    """A guest as last published: its ComputerSystem, whether it has a definition, and its
    settings (``None`` while no subscription wants them)."""

    system: CIMInstance
    persistent: bool
    settings: _Settings | None = None


#: Per (URI, domain UUID): the guest as last published.
_Known = dict[tuple[str, str], _Guest]


@dataclass(frozen=True)
class _Snapshot:
    """Every guest as it was when subscriptions changed, and whether settings are followed."""

    guests: _Known
    settings: bool


class LibvirtIndications:
    """Turns the domain events of ``hypervisors`` into indications for ``broker``.

    ``context`` makes a request context for a namespace, through which the
    guests' instances are read as a client would read them.
    """

    def __init__(self, hypervisors: Sequence[Hypervisor], broker: IndicationBroker,
                 context: Callable[[str], RequestContext]) -> None:
        self._hypervisors = list(hypervisors)
        self._broker = broker
        self._context = context
        self._events: queue.Queue[tuple[Hypervisor, Event] | _Snapshot | None] = \
            queue.Queue(EVENT_QUEUE)
        self._last: _Known = {}
        #: Whether the indication thread follows the guests' settings (as the last snapshot).
        self._settings = False
        self._setting_classes = [naming.classname(hv.prefix, name) for hv in self._hypervisors
                                 for name in (SETTING_CREATED, SETTING_DELETED, SETTING_MODIFIED)]
        #: Per (URI, "pool" or "network", UUID): its pool as last published.
        self._pools: dict[tuple[str, str, str], CIMInstance] = {}
        #: Whether some subscription is enabled, and whether one selects setting indications.
        self._watching = (False, False)
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._removers: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, name="libvirt indications", daemon=True)

    def start(self) -> None:
        for hv in self._hypervisors:
            self._removers.append(hv.add_listener(functools.partial(self._queue, hv)))
        self._thread.start()
        self._broker.watch(self._on_activity)

    def stop(self) -> None:
        for remove in self._removers:
            remove()
        self._events.put(None)
        self._thread.join(5)

    def _on_activity(self, active: bool) -> None:
        """Subscriptions changed. When the first is made (or the first that selects setting
        indications), the guests as they are then are the PreviousInstance of their first
        change; after the last, they are forgotten.

        Read here, before the request that made the subscription returns, and
        handed to the indication thread in order with the events."""
        watching = (active, active and self._broker.selects(self._setting_classes, SETTINGS_BASE))
        with self._lock:
            if watching == self._watching:
                return
            self._watching = watching
            settings = watching[1]
            self._events.put(_Snapshot(self._guests(settings) if active else {}, settings))

    # -- libvirt's event thread -----------------------------------------------

    def _queue(self, hv: Hypervisor, event: Event) -> None:
        watched = _WATCHED if event.kind == "domain" else _POOL_EVENTS.get(event.kind)
        if watched is None or event.event_id not in watched:
            return
        if not self._broker.active:
            return
        try:
            self._events.put_nowait((hv, event))
        except queue.Full:
            log.error("guest event queue full: %s event of %r on %s dropped",
                      event.event_id, event.name, hv.uri)

    # -- the indication thread ------------------------------------------------

    def _run(self) -> None:
        while (item := self._events.get()) is not None:
            if isinstance(item, _Snapshot):
                self._last, self._settings = item.guests, item.settings
            else:
                hv, event = item
                try:
                    if event.kind == "domain":
                        self._publish(hv, event)
                    else:
                        self._publish_pool(hv, event)
                except Exception:
                    log.exception("no indication for the %s event of %s %r on %s",
                                  event.event_id, event.kind, event.name, hv.uri)

    def _guests(self, settings: bool) -> _Known:
        """Every guest as it is now, whether it has a definition, and (with ``settings``)
        its settings."""
        ctx = self._context(VIRT_NAMESPACE)
        known: _Known = {}
        for hv in self._hypervisors:
            try:
                for domain in hv.domains():
                    inst = self._current(ctx, hv, domain.name)
                    if inst is None:
                        continue
                    with contextlib.suppress(NoSuchGuest):  # removed since it was read
                        found = _settings_of(ctx, hv, domain.name) if settings else None
                        known[(hv.uri, domain.uuid)] = _Guest(inst, domain.is_persistent(),
                                                              found)
            except CIMError as error:
                log.error("guests of %s not read for indications: %s", hv.uri, error)
        return known

    def _publish(self, hv: Hypervisor, event: Event) -> None:
        ctx = self._context(VIRT_NAMESPACE)
        key = (hv.uri, event.uuid)
        known = self._last.get(key)
        current = self._current(ctx, hv, event.name)
        kind, persistent = _kind(event, known, current is not None)
        before = known.settings if known else {}
        if kind == DELETED:
            self._last.pop(key, None)
            source = _destroyed(current or (known.system if known else _bare(ctx, hv, event.name)))
            self._publish_settings(ctx, hv, before, {})
        else:
            guest = current or (known.system if known else _bare(ctx, hv, event.name))
            source = _as_left_by(event, guest, created=kind == CREATED)
            after = before
            if self._settings and current is not None:
                now = _settings_of(ctx, hv, event.name)
                after = before if now is None else now
            self._last[key] = _Guest(source, persistent, after if self._settings else None)
        values = self._about(source, hv)
        if kind == MODIFIED:
            values["PreviousInstance"] = known.system if known else source
        indication = ctx.instance(naming.classname(hv.prefix, kind), **values)
        self._broker.publish(indication, VIRT_NAMESPACE)
        if kind != DELETED:
            self._publish_settings(ctx, hv, before, after)

    def _publish_settings(self, ctx: RequestContext, hv: Hypervisor,
                          before: _Settings | None, after: _Settings | None) -> None:
        """The setting indications of a guest whose settings were ``before`` and are
        ``after``; none while settings are not followed (``None``: not known)."""
        if not self._settings or before is None or after is None:
            return
        for kind, source, previous in setting_changes(before, after):
            values = self._about(source, hv)
            if previous is not None:
                values["PreviousInstance"] = previous
            self._broker.publish(ctx.instance(naming.classname(hv.prefix, kind), **values),
                                 VIRT_NAMESPACE)

    def _publish_pool(self, hv: Hypervisor, event: Event) -> None:
        """A storage pool's or network's lifecycle event: its pool was created (defined),
        deleted (undefined) or modified (started, stopped, built, deleted)."""
        ctx = self._context(VIRT_NAMESPACE)
        path = pool_path(ctx, hv, f"{_POOL_KINDS[event.kind]}/{event.name}")
        key = (hv.uri, event.kind, event.uuid)
        previous = self._pools.get(key)
        current = _existing(ctx, path)
        what = event.detail[0]
        values: dict[str, Any] = {}
        if what == PoolLifecycle.UNDEFINED:
            classname = "CIM_InstDeletion"
            source = previous or current or ctx.instance(path.classname, **path.keybindings)
            self._pools.pop(key, None)
        else:
            source = current or previous or ctx.instance(path.classname, **path.keybindings)
            if what == PoolLifecycle.DEFINED and previous is None:
                classname = "CIM_InstCreation"
            else:
                classname = "CIM_InstModification"
                values["PreviousInstance"] = previous or source
            self._pools[key] = source
        self._broker.publish(ctx.instance(classname, **self._about(source, hv), **values),
                             VIRT_NAMESPACE)

    def _about(self, source: CIMInstance, hv: Hypervisor) -> dict[str, Any]:
        """What every indication says of itself and of its source."""
        return {
            "IndicationIdentifier": f"{next(self._counter)}:{uuid.uuid4().hex}",
            "IndicationTime": CIMDateTime.now(),
            "SourceInstance": source,
            "SourceInstanceModelPath": str(source.path),
            "SourceInstanceHost": hv.hostname,
        }

    @staticmethod
    def _current(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstance | None:
        return _existing(ctx, guest_path(ctx, hv, name))


def _existing(ctx: RequestContext, path: CIMInstanceName) -> CIMInstance | None:
    """The instance at ``path``, read as a client would; ``None`` when it is gone."""
    try:
        return ctx.cimom.get_instance(ctx, path)
    except CIMError as error:
        if error.status_code == CIM_ERR_NOT_FOUND:
            return None
        raise


def setting_changes(before: Mapping[str, CIMInstance], after: Mapping[str, CIMInstance]
                    ) -> list[tuple[str, CIMInstance, CIMInstance | None]]:
    """What became of a guest's settings, by InstanceID ``before`` and ``after`` a change:
    ``(indication, SourceInstance, PreviousInstance or None)`` for each setting that
    appeared, changed or went, in that order."""
    changes: list[tuple[str, CIMInstance, CIMInstance | None]] = []
    for instance_id, setting in after.items():
        old = before.get(instance_id)
        if old is None:
            changes.append((SETTING_CREATED, setting, None))
        elif old != setting:
            changes.append((SETTING_MODIFIED, setting, old))
    changes.extend((SETTING_DELETED, old, None)
                   for instance_id, old in before.items() if instance_id not in after)
    return changes


def _settings_of(ctx: RequestContext, hv: Hypervisor, name: str) -> _Settings | None:
    """The settings of guest ``name`` now, by InstanceID; ``None`` when it is gone."""
    try:
        domain = hv.domain(name)
    except CIMError as error:
        if error.status_code == CIM_ERR_NOT_FOUND:
            return None
        raise
    return {str(setting["InstanceID"]): setting for setting in guest_settings(ctx, hv, domain)}


def _kind(event: Event, known: _Guest | None,
          exists: bool) -> tuple[str, bool]:
    """Which indication ``event`` makes, and whether the guest has a definition after it.

    Decided by the event and what the earlier events left known of the guest
    rather than by what libvirt shows when the event is read, which later
    events may already have changed; only an undefined guest is looked for
    (``exists``): one still running lives on without its definition.
    """
    persistent = known.persistent if known else True
    if event.event_id != DomainEventID.LIFECYCLE:
        return MODIFIED, persistent
    what, detail = event.detail[0], event.detail[1]
    if what == Lifecycle.DEFINED:
        added = detail == DEFINED_ADDED
        return (CREATED if added and known is None else MODIFIED), True
    if what == Lifecycle.UNDEFINED:
        return (MODIFIED if exists else DELETED), False
    if what == Lifecycle.STARTED and known is None:
        return CREATED, False
    if what == Lifecycle.STOPPED and known is not None and not known.persistent:
        return DELETED, False
    return MODIFIED, persistent


def _as_left_by(event: Event, guest: CIMInstance, created: bool) -> CIMInstance:
    """``guest`` in the state its lifecycle ``event`` left it in (a guest just defined is
    shut off)."""
    state = None
    if event.event_id == DomainEventID.LIFECYCLE:
        state = _STATE_AFTER.get(event.detail[0])
        if created and event.detail[0] == Lifecycle.DEFINED:
            state = DomainState.SHUTOFF
    if state is None:
        return guest
    view = STATE_VIEWS[state]
    enabled = view.enabled
    if state is DomainState.SHUTOFF and guest.get("EnabledState") == EnabledState.ENABLED_BUT_OFFLINE:
        enabled = EnabledState.ENABLED_BUT_OFFLINE  # stopped with its memory state saved
    guest = guest.copy()
    guest["EnabledState"] = Uint16(enabled)
    guest["HealthState"] = Uint16(view.health)
    guest["OperationalStatus"] = [Uint16(view.operational)]
    guest["OperatingStatus"] = Uint16(view.operating)
    return guest


def _bare(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstance:
    """A guest gone before its event was read: its keys are all that is known."""
    path = guest_path(ctx, hv, name)
    return ctx.instance(path.classname, **path.keybindings)


def _destroyed(last: CIMInstance) -> CIMInstance:
    """The guest as libvirt-cim reported a deleted one: last seen, EnabledState 1 Other."""
    gone = last.copy()
    gone["EnabledState"] = Uint16(_DESTROYED_STATE)
    gone["OtherEnabledState"] = _DESTROYED_TEXT
    return gone
