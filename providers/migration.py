"""Moving guests between hosts: ``<Prefix>_VirtualSystemMigrationService`` (DSP1081).

One service per hypervisor, keyed as libvirt-cim keyed it (the host's keys,
Name ``MigrationService``), its capabilities (InstanceID
``MigrationCapabilities``) and the migration setting it uses when a client
gives none (InstanceID ``MigrationSettingData``: live, over ssh), linked to
the capabilities by SettingsDefineCapabilities.

Methods (the destination is a host name or address, or a ``CIM_System``
whose Name is one):

* ``CheckVirtualSystemIsMigratableToHost`` / ``…ToSystem`` -> IsMigratable:
  connects to the destination and checks that it runs the same hypervisor,
  no older, on another host, that it can run the guest's architecture and
  has no guest of the same name or UUID; returns 0 with IsMigratable false
  when it cannot take the guest (the reasons are logged);
* ``MigrateVirtualSystemToHost`` / ``…ToSystem``: moves the guest
  (:mod:`providers.virt.migration`) as ``MigrationType`` says — 2 Live
  (default), 3 Resume (paused while copied), 4 Restart (shut down, moved,
  started there), 1 Other (libvirt-cim's offline: the guest must be shut
  off); a guest that is shut off moves its definition whatever the type.
  ``TransportType`` picks the destination URI: 2 ssh (default), 3 TLS without
  certificate checks, 4 TLS, 5 tcp, 6 IPC and libvirt-cim's 32768 (unix).

Where the server keeps jobs, a move checks its request and the destination,
then returns 4096 and a ``CIM_ConcreteJob`` (its ``PercentComplete`` from
libvirt's job statistics; terminating it aborts libvirt's migration); the
checks, and every method where there are no jobs, complete before they
return 0. A request that cannot be honoured raises the CIM error naming the cause
(``CIM_ERR_INVALID_PARAMETER`` for a bad host, setting or reference,
``CIM_ERR_NOT_FOUND`` for an unknown guest, ``CIM_ERR_FAILED`` for an
unreachable destination or libvirt's refusal), and the guest stays where it
was. ``NewSystemSettingData`` and ``NewResourceSettingData`` are accepted and
ignored, as libvirt-cim did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIMError, CIMInstance, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.computer_system import existing_guest, guest_name_at
from providers.paths import (
    MIGRATION_CAPABILITIES_ID,
    MIGRATION_SERVICE_NAME,
    MIGRATION_SETTING_DATA_ID,
    guest_path,
    migration_capabilities_path,
    migration_service_path,
    migration_setting_path,
)
from providers.singleton import SingletonProvider
from providers.valuemaps import (
    EnabledState,
    HostFormat,
    MigrationMethod,
    MigrationType,
    PropertyPolicy,
    TransportType,
    ValueRange,
    ValueRole,
)
from providers.virt import Domain, Hypervisor, naming
from providers.virt import migration as moves
from virtcim.jobs import JobControl
from virtcim.provider import MethodProvider, RequestContext, cim_method, same_keys

__all__ = [
    "MIGRATION_DEFAULTS",
    "VirtualSystemMigrationCapabilitiesProvider",
    "VirtualSystemMigrationServiceProvider",
    "VirtualSystemMigrationSettingDataProvider",
]

_log = logging.getLogger(__name__)

#: The class of a move's job (libvirt-cim's ``KVM_MigrationJob``), a ``CIM_ConcreteJob``.
MIGRATION_JOB = "MigrationJob"


#: What a move returns when it is a job (DMTF: "Method Parameters Checked - Job Started").
JOB_STARTED = 4096
#: Seconds between readings of libvirt's progress of a migration.
PROGRESS_INTERVAL = 0.5
#: A move's answer: 0 when done, or 4096 and its job.
Moved = int | tuple[int, dict[str, Any]]


_TRANSPORTS = {
    TransportType.SSH: moves.Transport.SSH,
    TransportType.TLS: moves.Transport.TLS_UNVERIFIED,
    TransportType.TLS_STRICT: moves.Transport.TLS,
    TransportType.TCP: moves.Transport.TCP,
    TransportType.IPC: moves.Transport.UNIX,
    TransportType.LIBVIRT_CIM_UNIX: moves.Transport.UNIX,
}
_MODES = {
    MigrationType.LIVE: moves.Mode.LIVE,
    MigrationType.RESUME: moves.Mode.PAUSED,
    MigrationType.RESTART: moves.Mode.RESTART,
}
#: What a migration uses when the client gives no setting, or leaves a value out.
_DEFAULTS = {"MigrationType": MigrationType.LIVE, "Priority": 0,
             "TransportType": TransportType.SSH}  # fmt: skip


class VirtualSystemMigrationCapabilitiesProvider(SingletonProvider):
    """``<Prefix>_VirtualSystemMigrationCapabilities``: the methods and host formats."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return migration_capabilities_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        """The moves are jobs where the server keeps jobs; the checks always answer at once."""
        moving = [MigrationMethod.MIGRATE_TO_HOST, MigrationMethod.MIGRATE_TO_SYSTEM]
        checking = [MigrationMethod.CHECK_TO_HOST, MigrationMethod.CHECK_TO_SYSTEM]
        asynchronous = ctx.jobs is not None
        return {"ElementName": MIGRATION_CAPABILITIES_ID,
                "SynchronousMethodsSupported": checking if asynchronous else moving + checking,
                "AsynchronousMethodsSupported": moving if asynchronous else [],
                "DestinationHostFormatsSupported": list(HostFormat)}  # fmt: skip


class VirtualSystemMigrationSettingDataProvider(SingletonProvider):
    """``<Prefix>_VirtualSystemMigrationSettingData``: what a migration uses by default."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return migration_setting_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {"ElementName": MIGRATION_SETTING_DATA_ID, **_DEFAULTS}


class MigrationDefaults:
    """SettingsDefineCapabilities from the migration capabilities (GroupComponent) to the
    default migration setting (PartComponent)."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> list[dict[str, Any]]:
        return [{"GroupComponent": migration_capabilities_path(ctx, hv),
                 "PartComponent": migration_setting_path(ctx, hv),
                 "PropertyPolicy": PropertyPolicy.INDEPENDENT,
                 "ValueRole": ValueRole.DEFAULT, "ValueRange": ValueRange.POINT}]  # fmt: skip

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
    ) -> list[dict[str, Any]]:
        return [link for link in self.all_links(ctx, hv)
                if same_keys(link["GroupComponent"], source)
                or same_keys(link["PartComponent"], source)]  # fmt: skip


MIGRATION_DEFAULTS = MigrationDefaults()


class VirtualSystemMigrationServiceProvider(SingletonProvider, MethodProvider):
    """``<Prefix>_VirtualSystemMigrationService``: checks and moves guests."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return migration_service_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {"ElementName": MIGRATION_SERVICE_NAME, "EnabledState": EnabledState.ENABLED,
                "Description": f"Moves the guests of {self.hypervisor.uri} to other hosts"}  # fmt: skip

    @cim_method
    def CheckVirtualSystemIsMigratableToHost(
        self, ctx: RequestContext, target: CIMInstanceName,
        ComputerSystem: CIMInstanceName | None = None, DestinationHost: str | None = None,
        MigrationSettingData: CIMInstance | None = None, **ignored: Any,
    ) -> tuple[int, dict[str, Any]]:
        """Whether the guest can move to ``DestinationHost``."""
        return self._check("CheckVirtualSystemIsMigratableToHost", ComputerSystem,
                           DestinationHost, MigrationSettingData)  # fmt: skip

    @cim_method
    def CheckVirtualSystemIsMigratableToSystem(
        self, ctx: RequestContext, target: CIMInstanceName,
        ComputerSystem: CIMInstanceName | None = None,
        DestinationSystem: CIMInstanceName | None = None,
        MigrationSettingData: CIMInstance | None = None, **ignored: Any,
    ) -> tuple[int, dict[str, Any]]:
        """Whether the guest can move to the host ``DestinationSystem`` names."""
        method = "CheckVirtualSystemIsMigratableToSystem"
        return self._check(method, ComputerSystem, _system_host(method, DestinationSystem),
                           MigrationSettingData)  # fmt: skip

    @cim_method
    def MigrateVirtualSystemToHost(
        self, ctx: RequestContext, target: CIMInstanceName,
        ComputerSystem: CIMInstanceName | None = None, DestinationHost: str | None = None,
        MigrationSettingData: CIMInstance | None = None, **ignored: Any,
    ) -> Moved:
        """Move the guest to ``DestinationHost``."""
        return self._migrate(ctx, "MigrateVirtualSystemToHost", ComputerSystem, DestinationHost,
                             MigrationSettingData)  # fmt: skip

    @cim_method
    def MigrateVirtualSystemToSystem(
        self, ctx: RequestContext, target: CIMInstanceName,
        ComputerSystem: CIMInstanceName | None = None,
        DestinationSystem: CIMInstanceName | None = None,
        MigrationSettingData: CIMInstance | None = None, **ignored: Any,
    ) -> Moved:
        """Move the guest to the host ``DestinationSystem`` names."""
        method = "MigrateVirtualSystemToSystem"
        return self._migrate(ctx, method, ComputerSystem, _system_host(method, DestinationSystem),
                             MigrationSettingData)  # fmt: skip

    # -- the two things the methods do -----------------------------------------------------

    def _check(self, method: str, system: CIMInstanceName | None, host: str | None,
               setting: CIMInstance | None) -> tuple[int, dict[str, Any]]:  # fmt: skip
        hv = self.hypervisor
        domain = self._guest(method, system)
        uri = self._destination(method, host, _values(setting))
        found = moves.obstacles(hv, domain, uri)
        for reason in found:
            _log.info("guest %r of %s cannot move to %s: %s", domain.name, hv.uri, uri, reason)
        return 0, {"IsMigratable": not found}

    def _migrate(self, ctx: RequestContext, method: str, system: CIMInstanceName | None,
                 host: str | None, setting: CIMInstance | None) -> Moved:  # fmt: skip
        hv = self.hypervisor
        domain = self._guest(method, system)
        values = _values(setting)
        uri = self._destination(method, host, values)
        kind = _migration_type(method, values.get("MigrationType"))
        if kind is MigrationType.OTHER and domain.is_active:
            raise CIMError(CIM_ERR_FAILED,
                           f"{method}: MigrationType 1 moves only a guest that is shut off; "
                           f"guest {domain.name!r} runs")  # fmt: skip
        mode = _MODES.get(kind, moves.Mode.LIVE)
        if ctx.jobs is None:
            moves.migrate(hv, domain, uri, mode)
            return 0
        found = moves.obstacles(hv, domain, uri)
        if found:
            raise CIMError(CIM_ERR_FAILED,
                           f"guest {domain.name!r} cannot move to {uri}: {'; '.join(found)}")

        def move(control: JobControl) -> None:
            done = threading.Event()
            progress = threading.Thread(target=_report_progress,
                                        args=(hv, domain.uuid, control, done), daemon=True)
            progress.start()
            try:
                moves.migrate(hv, domain, uri, mode)
            finally:
                done.set()
                progress.join()

        job = ctx.jobs.start(f"Migrate {domain.name} to {host}", VIRT_NAMESPACE, move,
                             owner=migration_service_path(ctx, hv),
                             affected=[guest_path(ctx, hv, domain.name)],
                             cancel=lambda: _abort(hv, domain.uuid),
                             classname=naming.classname(hv.prefix, MIGRATION_JOB))
        return JOB_STARTED, {"Job": ctx.path(job.classname, namespace=VIRT_NAMESPACE,
                                             InstanceID=job.instance_id)}

    def _guest(self, method: str, system: CIMInstanceName | None) -> Domain:
        if system is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: ComputerSystem is required")
        name = guest_name_at(self.hypervisor, system)
        if name is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{method}: ComputerSystem {system} is not a guest of "
                           f"{self.hypervisor.uri}")  # fmt: skip
        return existing_guest(self.hypervisor, name, f"{method}: ")

    def _destination(self, method: str, host: str | None, values: Mapping[str, Any]) -> str:
        if not host or not host.strip():
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: DestinationHost is required")
        transport = values.get("TransportType")
        if transport is None:
            transport = _DEFAULTS["TransportType"]
        if transport not in _TRANSPORTS:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{method}: MigrationSettingData TransportType {transport} names no "
                           "transport virtcim knows")  # fmt: skip
        try:
            return moves.destination_uri(self.hypervisor.uri, host,
                                         _TRANSPORTS[TransportType(transport)])  # fmt: skip
        except CIMError as error:
            raise CIMError(error.status_code, f"{method}: {error.status_description}") from None


def _report_progress(hv: Hypervisor, uuid: str, control: JobControl,
                     done: threading.Event) -> None:
    """PercentComplete from libvirt's job statistics of the guest, while it moves."""
    while not done.wait(PROGRESS_INTERVAL):
        try:
            stats = hv.run("migration", lambda conn: conn.lookupByUUIDString(uuid).jobStats())
        except CIMError:
            return  # the guest has left: the job's end says the rest
        total = stats.get("data_total") or stats.get("memory_total")
        processed = stats.get("data_processed") or stats.get("memory_processed")
        if total and processed is not None:
            control.progress(min(99, int(100 * processed / total)))


def _abort(hv: Hypervisor, uuid: str) -> None:
    """Cancel the guest's libvirt job (the migration); what libvirt already did stays."""
    try:
        hv.run("migration", lambda conn: conn.lookupByUUIDString(uuid).abortJob(), read=False)
    except CIMError as error:
        _log.warning("migration of guest %s on %s not aborted: %s", uuid, hv.uri, error)


def _migration_type(method: str, value: Any) -> MigrationType:
    if value is None or value == MigrationType.UNKNOWN:
        return MigrationType.LIVE
    try:
        return MigrationType(value)
    except ValueError:
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"{method}: MigrationSettingData MigrationType {value} is not one of "
                       f"{[int(kind) for kind in MigrationType]}") from None  # fmt: skip


def _system_host(method: str, system: CIMInstanceName | None) -> str | None:
    """The host a DestinationSystem path names by its Name key."""
    if system is None:
        return None
    name = system.keybindings.get("Name")
    if not isinstance(name, str):
        raise CIMError(CIM_ERR_INVALID_PARAMETER,
                       f"{method}: DestinationSystem {system} has no Name")  # fmt: skip
    return name


def _values(setting: CIMInstance | None) -> dict[str, Any]:
    if setting is None:
        return {}
    return {name: prop.value for name, prop in setting.properties.items()
            if prop.value is not None}  # fmt: skip
