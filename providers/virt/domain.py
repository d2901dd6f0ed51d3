"""A libvirt domain as fetched at one moment: its state, its definition, its changes.

:class:`Domain` holds a domain's libvirt handle, its state and its parsed XML
(:mod:`providers.virt.domainxml`). Its methods change the domain through
libvirt and translate failures into CIM errors naming the guest; inside a
:class:`~providers.virt.transaction.Transaction` each change records how to
undo it. What it needs of the connection is the small :class:`Connection`
protocol, so this module does not depend on :mod:`providers.virt.connection`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol, TypeVar

import libvirt
from lxml import etree
from pywbem import CIM_ERR_NOT_SUPPORTED, CIMError

from providers.virt.domainxml import DomainXML, parse_xml
from providers.virt.mapping import device_id
from providers.virt.runner import Runner
from providers.virt.snapshots import DomainSnapshot, read_snapshots, snapshot_request
from providers.virt.transaction import Definitions, Transaction

__all__ = ["MEMO_CAPACITY", "Connection", "Domain", "DomainState"]

T = TypeVar("T")


class DomainState(enum.IntEnum):
    """libvirt's domain states (``virDomainState``)."""

    NOSTATE = libvirt.VIR_DOMAIN_NOSTATE
    RUNNING = libvirt.VIR_DOMAIN_RUNNING
    BLOCKED = libvirt.VIR_DOMAIN_BLOCKED
    PAUSED = libvirt.VIR_DOMAIN_PAUSED
    SHUTDOWN = libvirt.VIR_DOMAIN_SHUTDOWN
    SHUTOFF = libvirt.VIR_DOMAIN_SHUTOFF
    CRASHED = libvirt.VIR_DOMAIN_CRASHED
    PMSUSPENDED = libvirt.VIR_DOMAIN_PMSUSPENDED


class Connection(Definitions["Domain"], Runner, Protocol):
    """What a :class:`Domain` needs of its hypervisor's connection."""

    def invalidate(self, uuid: str) -> None: ...

    def define(self, xml: DomainXML) -> Domain: ...


# --- the libvirt domain ----------------------------------------------------------------------

_AFFECT_LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
_AFFECT_CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
_CONFIG_XML = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
#: A snapshot libvirt fails to take leaves nothing behind.
_SNAPSHOT_ATOMIC = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
_SNAPSHOT_DISK_ONLY = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
#: Removing a definition keeps what only the definition knows how to remove
#: (managed save images, snapshot metadata) out of the way, and keeps NVRAM so
#: that a rolled-back undefine can be redefined as it was.
_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
)
_FLAGS_REFUSED = frozenset(
    {libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED}
)
#: Values one snapshot memoises (:meth:`Domain.memo`); the keys come partly from
#: clients (a class name's spelling), so their number is bounded.
MEMO_CAPACITY = 64


class Domain:
    """One libvirt domain as fetched at one moment.

    ``xml`` is the definition libvirt reports now (the live one for a
    running guest, with auto-assigned ports and addresses); it is parsed once
    per fetch and shared, so it is read-only. :meth:`config` fetches the
    persistent definition for editing. State-changing methods act at once;
    this object keeps describing the domain as fetched (call
    :meth:`Hypervisor.domain` again to see the result).

    Obtain instances from :class:`~providers.virt.connection.Hypervisor`.
    """

    def __init__(
        self,
        hypervisor: Connection,
        handle: libvirt.virDomain,
        xml: DomainXML,
        state: int,
        uuid: str,
    ) -> None:
        self._hypervisor = hypervisor
        self._handle = handle
        self.xml = xml
        self.name: str = handle.name()
        self.uuid = uuid
        active_id = handle.ID()
        #: The hypervisor's id of a running domain, ``None`` when it is shut off.
        self.id: int | None = active_id if active_id >= 0 else None
        self.state = DomainState(state)
        self._journal: Transaction[Domain] | None = None
        self._memo: dict[Hashable, Any] = {}

    def __repr__(self) -> str:
        return f"<Domain {self.name!r} {self.state.name} on {self._hypervisor.uri}>"

    @property
    def is_active(self) -> bool:
        """True while the domain runs (including paused)."""
        return self.id is not None

    @property
    def hypervisor(self) -> Connection:
        return self._hypervisor

    def memo(self, key: Hashable, build: Callable[..., T], *args: Any) -> T:
        """``build(*args)``, made once per snapshot and ``key``, then returned as made.

        For values derived from this snapshot alone (its ``xml``, name,
        state...) that are never changed once made, such as a provider's
        instance: a changed domain is fetched as a new snapshot, whose memo
        starts empty, so nothing memoised outlives what it was derived from.
        ``key`` must name everything else the value depends on. Two threads
        may both build a value the first time; either result is kept.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = build(*args)
            if len(self._memo) < MEMO_CAPACITY:
                self._memo[key] = value
            return value

    # reads that ask libvirt

    def config(self) -> DomainXML:
        """The persistent definition, fetched now, editable, passwords included.

        For a domain that is not running this is the same as ``xml``.
        """
        text = self._call("read the definition of", lambda d: d.XMLDesc(_CONFIG_XML), read=True)
        return DomainXML.from_string(text)

    def is_persistent(self) -> bool:
        return bool(self._call("inspect", lambda d: d.isPersistent(), read=True))

    def autostart(self) -> bool:
        return bool(self._call("inspect", lambda d: d.autostart(), read=True))

    def set_autostart(self, enabled: bool) -> None:
        previous = self.autostart()
        self._change("set autostart of", lambda d: d.setAutostart(int(enabled)))
        self._record(f"autostart {previous}", lambda d: d.setAutostart(int(previous)))

    # state changes

    def start(self) -> None:
        """Boot a defined domain (``virDomainCreate``)."""
        self._change("start", lambda d: d.create())
        self._record("destroy", lambda d: d.destroy())

    def destroy(self) -> None:
        """Power off at once."""
        was_active = self.is_active
        self._change("destroy", lambda d: d.destroy())
        if was_active:
            self._record("start", lambda d: d.create())

    def shutdown(self) -> None:
        """Ask the guest to shut down; returns without waiting."""
        self._change("shut down", lambda d: d.shutdown())

    def reboot(self) -> None:
        self._change("reboot", lambda d: d.reboot(0))

    def reset(self) -> None:
        """Hard reset, as pressing the reset button."""
        self._change("reset", lambda d: d.reset(0))

    def suspend(self) -> None:
        self._change("pause", lambda d: d.suspend())
        self._record("resume", lambda d: d.resume())

    def resume(self) -> None:
        self._change("resume", lambda d: d.resume())
        self._record("pause", lambda d: d.suspend())

    # the memory state libvirt keeps for a guest while it is off (managed save)

    def has_saved_state(self) -> bool:
        return bool(self._call("inspect", lambda d: d.hasManagedSaveImage(0), read=True))

    def save_state(self) -> None:
        """Save the memory state of the running domain and stop it (``virDomainManagedSave``);
        :meth:`start` resumes it from that state, which libvirt then discards."""
        self._change("save the state of", lambda d: d.managedSave(0))
        self._record("start", lambda d: d.create())

    def discard_saved_state(self) -> None:
        """Remove the saved memory state: the next start boots afresh."""
        self._change("discard the saved state of", lambda d: d.managedSaveRemove(0))

    # libvirt's snapshots (see providers.virt.snapshots); read afresh, they send no events

    def snapshots(self) -> list[DomainSnapshot]:
        return list(self._call("list the snapshots of", read_snapshots, read=True))

    def snapshot(self, name: str) -> DomainSnapshot | None:
        """The snapshot ``name`` of the domain, ``None`` when it has none so named."""
        found = self._call("read a snapshot of", lambda d: read_snapshots(d, name), read=True)
        return found[0] if found else None

    def take_snapshot(self, name: str, description: str | None, *, disk_only: bool) -> None:
        """A snapshot of the disks and, unless ``disk_only`` or the domain is off, the memory.

        libvirt takes a full one inside the disk images (qcow2); a disk-only
        one of a running domain as new overlay files beside them.
        """
        request = snapshot_request(name, description)
        flags = _SNAPSHOT_ATOMIC | (_SNAPSHOT_DISK_ONLY if disk_only else 0)
        self._change("take a snapshot of", lambda d: d.snapshotCreateXML(request, flags))

    def revert_to_snapshot(self, name: str) -> None:
        """Put the domain back as it was at snapshot ``name``, its state included."""
        self._change("revert", lambda d: d.revertToSnapshot(d.snapshotLookupByName(name, 0), 0))

    def delete_snapshot(self, name: str) -> None:
        """Remove snapshot ``name``; its children become its parent's."""
        self._change("delete a snapshot of", lambda d: d.snapshotLookupByName(name, 0).delete(0))

    # definition changes

    def redefine(self, xml: DomainXML) -> Domain:
        """Replace the persistent definition with ``xml`` (same name and UUID)."""
        return self._hypervisor.define(xml)

    def undefine(self) -> None:
        """Remove the persistent definition (a running guest keeps running, transient).

        Inside a :class:`Transaction` that tracks this domain, rollback
        defines the original again.
        """
        self._change("undefine", _undefine)

    # live changes: live=True reaches the running guest as well as the definition

    def attach_device(self, device: etree._Element | str, live: bool) -> None:
        text = _device_text(device)
        flags = self._scope(live)
        self._change(
            "attach a device to", _scoped(lambda d, f: d.attachDeviceFlags(text, f), flags)
        )
        if flags & _AFFECT_LIVE:
            self._record("detach", lambda d: d.detachDeviceFlags(text, _AFFECT_LIVE))

    def detach_device(self, device: etree._Element | str, live: bool) -> None:
        text = _device_text(device)
        flags = self._scope(live)
        self._change(
            "detach a device from", _scoped(lambda d, f: d.detachDeviceFlags(text, f), flags)
        )
        if flags & _AFFECT_LIVE:
            self._record("attach", lambda d: d.attachDeviceFlags(text, _AFFECT_LIVE))

    def update_device(self, device: etree._Element | str, live: bool) -> None:
        """Change a device in place (e.g. a CD-ROM's medium, a NIC's link state)."""
        text = _device_text(device)
        flags = self._scope(live)
        old = self.xml.find_device(device_id(parse_xml(text)) or "")
        self._change(
            "update a device of", _scoped(lambda d, f: d.updateDeviceFlags(text, f), flags)
        )
        if flags & _AFFECT_LIVE and old is not None:
            old_text = etree.tostring(old, encoding="unicode")
            self._record("update back", lambda d: d.updateDeviceFlags(old_text, _AFFECT_LIVE))

    def set_memory(self, kib: int, live: bool, *, maximum: bool = False) -> None:
        """Current memory (balloon) or, with ``maximum``, the maximum, in KiB."""
        flags = self._scope(live) | (libvirt.VIR_DOMAIN_MEM_MAXIMUM if maximum else 0)
        self._change("set the memory of", _scoped(lambda d, f: d.setMemoryFlags(kib, f), flags))
        if flags & _AFFECT_LIVE:
            previous = self.xml.memory_kib if maximum else self.xml.current_memory_kib
            undo_flags = _AFFECT_LIVE | (flags & libvirt.VIR_DOMAIN_MEM_MAXIMUM)
            self._record("memory back", lambda d: d.setMemoryFlags(previous, undo_flags))

    def set_vcpus(self, count: int, live: bool, *, maximum: bool = False) -> None:
        """vCPUs in use or, with ``maximum``, the maximum (config only in libvirt)."""
        flags = self._scope(live and not maximum)
        flags |= libvirt.VIR_DOMAIN_VCPU_MAXIMUM if maximum else 0
        self._change("set the vCPUs of", _scoped(lambda d, f: d.setVcpusFlags(count, f), flags))
        if flags & _AFFECT_LIVE:
            previous = self.xml.vcpus
            self._record("vCPUs back", lambda d: d.setVcpusFlags(previous, _AFFECT_LIVE))

    def set_scheduler(self, parameters: Mapping[str, int], live: bool) -> None:
        """Scheduler parameters (``cpu_shares``, ``global_period``, ``global_quota``...).

        ``CIM_ERR_NOT_SUPPORTED`` when the driver has no such parameters for
        the running guest (the test driver knows only ``weight``).
        """
        flags = self._scope(live)
        previous: dict[str, int] = {}
        if flags & _AFFECT_LIVE:
            current = self._call("read the scheduler parameters of",
                                 lambda d: d.schedulerParameters(), read=True)  # fmt: skip
            unknown = sorted(set(parameters) - set(current))
            if unknown:
                raise CIMError(CIM_ERR_NOT_SUPPORTED,
                               f"guest {self.name!r} on {self._hypervisor.uri} has no scheduler "
                               f"parameter {', '.join(unknown)}")  # fmt: skip
            previous = {name: current[name] for name in parameters}
        self._change("set the scheduler parameters of",
                     _scoped(lambda d, f: d.setSchedulerParametersFlags(dict(parameters), f),
                             flags))  # fmt: skip
        if previous:
            self._record("scheduler parameters back",
                         lambda d: d.setSchedulerParametersFlags(previous, _AFFECT_LIVE))  # fmt: skip

    def disk_size(self, target: str, source: str | None) -> tuple[int, str | None] | None:
        """``(capacity in bytes, storage pool)`` of the image behind disk ``target``.

        The storage volume at ``source`` answers where one is known (with its
        pool), else libvirt's block info of the disk; ``None`` when neither
        can (the image is missing or unreadable).
        """
        def read(conn: libvirt.virConnect) -> tuple[int, str | None] | None:
            if source:
                try:
                    volume = conn.storageVolLookupByPath(source)
                    return int(volume.info()[1]), volume.storagePoolLookupByVolume().name()
                except libvirt.libvirtError:
                    pass
            try:
                return int(self._handle_on(conn).blockInfo(target)[0]), None
            except libvirt.libvirtError:
                return None

        return self._hypervisor.run(f"guest {self.name!r}", read, read=True)

    def journal_to(self, journal: Transaction[Domain] | None) -> None:
        """Record how to undo each change from now on in ``journal`` (``None``: stop)."""
        self._journal = journal

    def transaction(self) -> Transaction[Domain]:
        """A :class:`Transaction` already tracking this domain::

        with domain.transaction():
            domain.attach_device(disk, live=True)
            domain.redefine(edited)   # fails -> the disk is detached, XML restored
        """
        transaction = Transaction(self._hypervisor)
        transaction.track(self)
        return transaction

    # plumbing

    def _scope(self, live: bool) -> int:
        """AFFECT_CONFIG for a persistent domain, plus AFFECT_LIVE when running and asked.

        A transient domain has no definition apart from its running state, so
        a change to it is always live.
        """
        flags = _AFFECT_CONFIG if self.is_persistent() else 0
        if live and self.is_active:
            flags |= _AFFECT_LIVE
        return flags or _AFFECT_LIVE

    def _call(
        self, action: str, operation: Callable[[libvirt.virDomain], Any], *, read: bool
    ) -> Any:
        return self._hypervisor.run(
            f"guest {self.name!r}",
            lambda conn: operation(self._handle_on(conn)),
            read=read,
            action=action,
        )

    def _change(self, action: str, operation: Callable[[libvirt.virDomain], Any]) -> None:
        try:
            self._call(action, operation, read=False)
        finally:
            self._hypervisor.invalidate(self.uuid)

    def _record(self, description: str, undo: Callable[[libvirt.virDomain], Any]) -> None:
        if self._journal is not None:
            self._journal.record(
                f"{description} guest {self.name!r}",
                lambda: self._call(description, undo, read=False),
            )

    def _handle_on(self, conn: libvirt.virConnect) -> libvirt.virDomain:
        """This domain's handle on ``conn`` (looked up again after a reconnect)."""
        if self._handle.connect() is conn:
            return self._handle
        self._handle = conn.lookupByUUIDString(self.uuid)
        return self._handle


def _scoped(
    operation: Callable[[libvirt.virDomain, int], Any], flags: int
) -> Callable[[libvirt.virDomain], Any]:
    """``operation(handle, flags)``, split in a config call and a live call when
    the driver refuses both at once (the test driver does, for memory)."""
    both = _AFFECT_LIVE | _AFFECT_CONFIG

    def apply(handle: libvirt.virDomain) -> Any:
        try:
            return operation(handle, flags)
        except libvirt.libvirtError as error:
            if flags & both != both or error.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                raise
        operation(handle, flags & ~_AFFECT_LIVE)
        return operation(handle, flags & ~_AFFECT_CONFIG)

    return apply


def _undefine(handle: libvirt.virDomain) -> None:
    """Undefine with :data:`_UNDEFINE_FLAGS`, or plainly where the driver knows no flags."""
    try:
        handle.undefineFlags(_UNDEFINE_FLAGS)
    except libvirt.libvirtError as error:
        if error.get_error_code() not in _FLAGS_REFUSED:
            raise
        handle.undefine()


def _device_text(device: etree._Element | str) -> str:
    if isinstance(device, str):
        return device
    return etree.tostring(device, encoding="unicode")
