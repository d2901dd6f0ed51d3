"""A guest's memory state kept while it is off: ``<Prefix>_VirtualSystemSnapshotService``.

One service per hypervisor, keyed as libvirt-cim keyed it (the host's keys,
Name ``SnapshotService``), and its capabilities (InstanceID
``SnapshotCapabilities``). A snapshot is libvirt's *managed save* of a guest:
libvirt keeps the memory state of the stopped guest and its next start
resumes from it, on whichever host the daemon runs. A guest has at most one,
named by the guest's VirtualSystemSettingData.

* ``CreateSnapshot(AffectedSystem, SnapshotSettings, SnapshotType)``: with
  SnapshotType 32769 (libvirt-cim's "memory, guest left off") saves the
  state of the running guest and stops it; returns 0 with
  ``ResultingSnapshot`` (the guest's VSSD) and, where the server keeps jobs,
  ``Job``: a job already Completed (libvirt-cim's clients look for one). When
  libvirt fails to save, the guest keeps running and the method returns 2
  with that job Failed, its ErrorDescription saying why. Every other type
  returns 1 (Not Supported): a managed save cannot keep the state of a guest
  that goes on running (32768), and libvirt's disk snapshots are not this
  service's. ``SnapshotSettings`` is ignored, as libvirt-cim ignored it.
* ``ApplySnapshot(Snapshot)``: starts the guest from its saved state.
* ``DestroySnapshot(AffectedSnapshot)``: discards the saved state.

A missing or foreign reference is ``CIM_ERR_INVALID_PARAMETER``, an unknown
guest ``CIM_ERR_NOT_FOUND``, and a guest in the wrong state for the method
(shut off for CreateSnapshot; running, or without a saved state, for the
others) ``CIM_ERR_FAILED``; libvirt is left as it was. Each method holds the
guest's edit lock, so that it does not race another change of the guest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIMError, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.computer_system import existing_guest, guest_name_at
from providers.paths import (
    SNAPSHOT_CAPABILITIES_ID,
    SNAPSHOT_SERVICE_NAME,
    guest_path,
    snapshot_capabilities_path,
    snapshot_service_path,
    vssd_path,
)
from providers.settings import guest_of_vssd
from providers.singleton import SingletonProvider
from providers.valuemaps import EnabledState, SnapshotMethod, SnapshotReturnCode, SnapshotType
from providers.virt import Domain
from virtcim.jobs import JobControl
from virtcim.provider import MethodProvider, RequestContext, cim_method
from virtcim.valuemaps import JobState

__all__ = ["SUPPORTED_TYPE", "VirtualSystemSnapshotServiceCapabilitiesProvider",
           "VirtualSystemSnapshotServiceProvider"]  # fmt: skip

_log = logging.getLogger(__name__)

#: The one SnapshotType a managed save gives.
SUPPORTED_TYPE = SnapshotType.MEMORY_GUEST_OFF
#: What CreateSnapshot answers: its return value and outputs.
Created = tuple[SnapshotReturnCode, dict[str, Any]]


class VirtualSystemSnapshotServiceCapabilitiesProvider(SingletonProvider):
    """``<Prefix>_VirtualSystemSnapshotServiceCapabilities``: the methods and the one type."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return snapshot_capabilities_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        # DMTF spells the asynchronous list "Aynchronous".
        return {"ElementName": SNAPSHOT_CAPABILITIES_ID,
                "SynchronousMethodsSupported": list(SnapshotMethod),
                "AynchronousMethodsSupported": [],
                "SnapshotTypesSupported": [SUPPORTED_TYPE]}  # fmt: skip


class VirtualSystemSnapshotServiceProvider(SingletonProvider, MethodProvider):
    """``<Prefix>_VirtualSystemSnapshotService``: saves, resumes and discards guests' states."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return snapshot_service_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {"ElementName": SNAPSHOT_SERVICE_NAME, "EnabledState": EnabledState.ENABLED,
                "Description": f"Keeps the memory state of the guests of "
                               f"{self.hypervisor.uri} while they are off"}  # fmt: skip

    @cim_method
    def CreateSnapshot(
        self, ctx: RequestContext, target: CIMInstanceName,
        AffectedSystem: CIMInstanceName | None = None, SnapshotType: int | None = None,
        **ignored: Any,
    ) -> SnapshotReturnCode | Created:
        """Save the running guest's memory state and stop it."""
        domain = self._guest(AffectedSystem)
        if SnapshotType is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "CreateSnapshot: SnapshotType is required")
        if SnapshotType != SUPPORTED_TYPE:
            _log.warning("CreateSnapshot of guest %r on %s: SnapshotType %s is not supported; "
                         "only %d (the memory state, the guest left off) is",
                         domain.name, self.hypervisor.uri, SnapshotType,
                         SUPPORTED_TYPE)  # fmt: skip
            return SnapshotReturnCode.NOT_SUPPORTED
        with self.hypervisor.editing(domain) as (fresh,):
            if not fresh.is_active:
                raise CIMError(CIM_ERR_FAILED,
                               f"CreateSnapshot: guest {fresh.name!r} is shut off; only a "
                               "running guest has a memory state to save")  # fmt: skip
            return self._save(ctx, fresh)

    @cim_method
    def ApplySnapshot(
        self, ctx: RequestContext, target: CIMInstanceName,
        Snapshot: CIMInstanceName | None = None, **ignored: Any,
    ) -> SnapshotReturnCode:
        """Start the guest from its saved state."""
        with self._snapshot("ApplySnapshot", "Snapshot", Snapshot) as domain:
            domain.start()
        return SnapshotReturnCode.COMPLETED

    @cim_method
    def DestroySnapshot(
        self, ctx: RequestContext, target: CIMInstanceName,
        AffectedSnapshot: CIMInstanceName | None = None, **ignored: Any,
    ) -> SnapshotReturnCode:
        """Discard the guest's saved state."""
        with self._snapshot("DestroySnapshot", "AffectedSnapshot", AffectedSnapshot) as domain:
            domain.discard_saved_state()
        return SnapshotReturnCode.COMPLETED

    # -- what the methods share -------------------------------------------------------------

    def _save(self, ctx: RequestContext, domain: Domain) -> Created:
        """The managed save, as a finished job where the server keeps jobs."""
        hv = self.hypervisor
        resulting = {"ResultingSnapshot": vssd_path(ctx, hv, domain.name)}
        if ctx.jobs is None:
            domain.save_state()
            return SnapshotReturnCode.COMPLETED, resulting

        def save(control: JobControl) -> None:
            domain.save_state()

        job = ctx.jobs.run(f"Snapshot of {domain.name}", VIRT_NAMESPACE, save,
                           owner=snapshot_service_path(ctx, hv),
                           affected=[guest_path(ctx, hv, domain.name)])  # fmt: skip
        outputs: dict[str, Any] = {"Job": ctx.path(job.classname, namespace=VIRT_NAMESPACE,
                                                   InstanceID=job.instance_id)}
        if job.state is not JobState.COMPLETED:
            _log.warning("snapshot of guest %r on %s failed: %s", domain.name, hv.uri,
                         job.error_description)
            return SnapshotReturnCode.FAILED, outputs
        return SnapshotReturnCode.COMPLETED, {**outputs, **resulting}

    def _guest(self, system: CIMInstanceName | None) -> Domain:
        """The guest an AffectedSystem reference names."""
        if system is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "CreateSnapshot: AffectedSystem is required")
        name = guest_name_at(self.hypervisor, system)
        if name is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"CreateSnapshot: AffectedSystem {system} is not a guest of "
                           f"{self.hypervisor.uri}")  # fmt: skip
        return existing_guest(self.hypervisor, name, "CreateSnapshot: ")

    @contextmanager
    def _snapshot(self, method: str, parameter: str,
                  setting: CIMInstanceName | None) -> Iterator[Domain]:  # fmt: skip
        """The guest whose snapshot ``setting`` (its VSSD) names, with a saved state, shut
        off and held under its edit lock for the block."""
        hv = self.hypervisor
        if setting is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: {parameter} is required")
        try:
            name = guest_of_vssd(hv, setting)
        except CIMError as error:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{method}: {parameter} {error.status_description}") from None
        with hv.editing(existing_guest(hv, name, f"{method}: ")) as (domain,):
            if domain.is_active:
                raise CIMError(CIM_ERR_FAILED,
                               f"{method}: guest {name!r} runs; it has no saved state")
            if not domain.has_saved_state():
                raise CIMError(CIM_ERR_FAILED,
                               f"{method}: guest {name!r} has no snapshot (libvirt keeps no "
                               f"saved state of it on {hv.uri})")  # fmt: skip
            yield domain
