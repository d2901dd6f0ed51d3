"""Snapshots of the guests: ``<Prefix>_VirtualSystemSnapshotService``.

One service per hypervisor, keyed as libvirt-cim keyed it (the host's keys,
Name ``SnapshotService``), and its capabilities (InstanceID
``SnapshotCapabilities``). It takes two kinds of snapshot:

* libvirt's snapshots (SnapshotType 2 Full, 3 Disk): each a
  ``<Prefix>_SnapshotSettingData`` (:mod:`providers.snapshot_settings`); a
  guest may have many, in a tree. ``ApplySnapshot`` reverts the guest to
  one, ``DestroySnapshot`` deletes it.
* libvirt's *managed save* (SnapshotType 32769, libvirt-cim's "memory, guest
  left off"): the memory state of a running guest saved and the guest
  stopped; its next start resumes from it. A guest has at most one, named
  by the guest's own VirtualSystemSettingData. ``ApplySnapshot`` starts the
  guest from it, ``DestroySnapshot`` discards it.

Where the server keeps jobs, ``CreateSnapshot`` of a libvirt snapshot returns
4096 and the ``Job`` taking it (a full snapshot of a running guest writes its
memory out, which can outlast a request), linked by ``AffectedJobElement`` to
the guest and to the snapshot it makes; a managed save returns 0 with
``ResultingSnapshot`` and a job already Completed, as libvirt-cim's clients
expect, or 2 with that job Failed, its ErrorDescription saying why. Without
jobs, both return 0 and ``ResultingSnapshot`` once done. When libvirt fails,
the guest is left as it was. Other types return 1 (Not Supported): a managed
save cannot keep the state of a guest that goes on running (32768). A SnapshotSettings that is a setting data names and
describes a new libvirt snapshot (ElementName, Description); anything else
there (libvirt-cim's clients send the service's capabilities) is ignored.

A missing or foreign reference is ``CIM_ERR_INVALID_PARAMETER``, and so is a
snapshot name taken already (DSP0200 allows a method no other code for it);
an unknown guest or snapshot is ``CIM_ERR_NOT_FOUND``, and a guest in the
wrong state for a managed save's method (shut off for CreateSnapshot;
running, or without a saved state, for the others) ``CIM_ERR_FAILED``;
libvirt is left as it was. Each method holds the guest's edit lock, so that
it does not race another change of the guest.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.classes import VIRT_NAMESPACE
from providers.computer_system import existing_guest, guest_name_at
from providers.paths import (
    SNAPSHOT_CAPABILITIES_ID,
    SNAPSHOT_SERVICE_NAME,
    guest_path,
    snapshot_capabilities_path,
    snapshot_path,
    snapshot_service_path,
    vssd_path,
)
from providers.settings import guest_of_vssd
from providers.singleton import SingletonProvider
from providers.snapshot_settings import existing_snapshot, names_snapshot, snapshot_named_at
from providers.valuemaps import EnabledState, SnapshotMethod, SnapshotReturnCode, SnapshotType
from providers.virt import Domain, Hypervisor, naming
from virtcim.jobs import JobControl
from virtcim.provider import MethodProvider, RequestContext, cim_method
from virtcim.valuemaps import JobState

__all__ = ["SUPPORTED_TYPES", "VirtualSystemSnapshotServiceCapabilitiesProvider",
           "VirtualSystemSnapshotServiceProvider"]  # fmt: skip

_log = logging.getLogger(__name__)

#: libvirt's snapshots, and its managed save (the methods' parameter hides the enum's name).
_DISK, _SAVED_STATE = SnapshotType.DISK, SnapshotType.MEMORY_GUEST_OFF
SUPPORTED_TYPES = (SnapshotType.FULL, _DISK, _SAVED_STATE)
#: The longest snapshot name taken: libvirt keeps each snapshot in a file named after it.
_NAME_LENGTH = 255
#: What CreateSnapshot answers: its return value and outputs.
Created = tuple[SnapshotReturnCode, dict[str, Any]]


class VirtualSystemSnapshotServiceCapabilitiesProvider(SingletonProvider):
    """``<Prefix>_VirtualSystemSnapshotServiceCapabilities``: the methods and the types."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return snapshot_capabilities_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        # DMTF spells the asynchronous list "Aynchronous".
        return {"ElementName": SNAPSHOT_CAPABILITIES_ID,
                "SynchronousMethodsSupported": list(SnapshotMethod),
                "AynchronousMethodsSupported": [SnapshotMethod.CREATE_SNAPSHOT],
                "SnapshotTypesSupported": list(SUPPORTED_TYPES)}  # fmt: skip


class VirtualSystemSnapshotServiceProvider(SingletonProvider, MethodProvider):
    """``<Prefix>_VirtualSystemSnapshotService``: takes, applies and destroys snapshots."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        super().__init__(hypervisor)
        #: (guest UUID, snapshot name) of the snapshots being taken now.
        self._being_taken: set[tuple[str, str]] = set()
        self._reserving = threading.Lock()

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return snapshot_service_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {"ElementName": SNAPSHOT_SERVICE_NAME, "EnabledState": EnabledState.ENABLED,
                "Description": f"Takes, applies and destroys snapshots of the guests of "
                               f"{self.hypervisor.uri}"}  # fmt: skip

    @cim_method
    def CreateSnapshot(
        self, ctx: RequestContext, target: CIMInstanceName,
        AffectedSystem: CIMInstanceName | None = None, SnapshotType: int | None = None,
        SnapshotSettings: object = None, **ignored: Any,
    ) -> SnapshotReturnCode | Created:
        """Take a snapshot of the guest, or save its memory state and stop it."""
        domain = self._guest(AffectedSystem)
        if SnapshotType is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, "CreateSnapshot: SnapshotType is required")
        if SnapshotType not in SUPPORTED_TYPES:
            _log.warning("CreateSnapshot of guest %r on %s: SnapshotType %s is not supported; "
                         "only %s are", domain.name, self.hypervisor.uri, SnapshotType,
                         ", ".join(map(str, map(int, SUPPORTED_TYPES))))  # fmt: skip
            return SnapshotReturnCode.NOT_SUPPORTED
        if SnapshotType == _SAVED_STATE:
            return self._save(ctx, domain)
        return self._take(ctx, domain, SnapshotSettings, disk_only=SnapshotType == _DISK)

    @cim_method
    def ApplySnapshot(
        self, ctx: RequestContext, target: CIMInstanceName,
        Snapshot: CIMInstanceName | None = None, **ignored: Any,
    ) -> SnapshotReturnCode:
        """Revert the guest to a snapshot, or start it from its saved state."""
        if self._is_libvirt_snapshot("ApplySnapshot", "Snapshot", Snapshot):
            with self._libvirt_snapshot(Snapshot) as (domain, name):
                domain.revert_to_snapshot(name)
        else:
            with self._saved_state("ApplySnapshot", "Snapshot", Snapshot) as domain:
                domain.start()
        return SnapshotReturnCode.COMPLETED

    @cim_method
    def DestroySnapshot(
        self, ctx: RequestContext, target: CIMInstanceName,
        AffectedSnapshot: CIMInstanceName | None = None, **ignored: Any,
    ) -> SnapshotReturnCode:
        """Delete a snapshot, or discard the guest's saved state."""
        if self._is_libvirt_snapshot("DestroySnapshot", "AffectedSnapshot", AffectedSnapshot):
            with self._libvirt_snapshot(AffectedSnapshot) as (domain, name):
                domain.delete_snapshot(name)
        else:
            with self._saved_state("DestroySnapshot", "AffectedSnapshot",
                                   AffectedSnapshot) as domain:  # fmt: skip
                domain.discard_saved_state()
        return SnapshotReturnCode.COMPLETED

    # -- what the methods share -------------------------------------------------------------

    def _save(self, ctx: RequestContext, domain: Domain) -> Created:
        """The managed save of a running guest."""
        with self.hypervisor.editing(domain) as (fresh,):
            if not fresh.is_active:
                raise CIMError(CIM_ERR_FAILED,
                               f"CreateSnapshot: guest {fresh.name!r} is shut off; only a "
                               "running guest has a memory state to save")  # fmt: skip
            return self._as_job(ctx, fresh, f"Snapshot of {fresh.name}", fresh.save_state,
                                vssd_path(ctx, self.hypervisor, fresh.name))

    def _take(self, ctx: RequestContext, domain: Domain, settings: object, *,
              disk_only: bool) -> Created:  # fmt: skip
        """libvirt's snapshot of the guest, taken by a job of its own where the server keeps
        jobs (a full snapshot of a running guest writes its memory out, which can outlast
        a request): 4096 and the job, linked to the guest and to the snapshot it makes."""
        hv = self.hypervisor
        name, description = self._named(ctx, settings)
        name = self._reserve(domain, name)
        resulting = snapshot_path(ctx, hv, domain.name, name)

        def take(control: JobControl | None = None) -> None:
            try:
                with hv.editing(domain) as (fresh,):
                    fresh.take_snapshot(name, description, disk_only=disk_only)
            finally:
                with self._reserving:
                    self._being_taken.discard((domain.uuid, name))

        if ctx.jobs is None:
            take()
            return SnapshotReturnCode.COMPLETED, {"ResultingSnapshot": resulting}
        try:
            job = ctx.jobs.start(f"Snapshot {name} of {domain.name}", VIRT_NAMESPACE, take,
                                 owner=snapshot_service_path(ctx, hv),
                                 affected=[guest_path(ctx, hv, domain.name), resulting])
        except BaseException:
            with self._reserving:
                self._being_taken.discard((domain.uuid, name))
            raise
        return SnapshotReturnCode.JOB_STARTED, {
            "Job": ctx.path(job.classname, namespace=VIRT_NAMESPACE, InstanceID=job.instance_id)}

    def _reserve(self, domain: Domain, name: str | None) -> str:
        """``name``, or a free one, kept for a snapshot of ``domain`` about to be taken: a
        name the guest has, or that another CreateSnapshot is taking, is refused."""
        with self._reserving:
            taken = {snapshot.name for snapshot in domain.snapshots()}
            taken |= {taking for uuid, taking in self._being_taken if uuid == domain.uuid}
            if name is None:
                name = _free_name(taken)
            elif name in taken:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"CreateSnapshot: SnapshotSettings ElementName: guest "
                               f"{domain.name!r} has a snapshot {name!r} already")  # fmt: skip
            self._being_taken.add((domain.uuid, name))
        return name

    def _as_job(self, ctx: RequestContext, domain: Domain, title: str,
                work: Callable[[], None], resulting: CIMInstanceName) -> Created:  # fmt: skip
        """``work`` done, as a finished job where the server keeps jobs."""
        hv = self.hypervisor
        if ctx.jobs is None:
            work()
            return SnapshotReturnCode.COMPLETED, {"ResultingSnapshot": resulting}

        def run(control: JobControl) -> None:
            work()

        job = ctx.jobs.run(title, VIRT_NAMESPACE, run, owner=snapshot_service_path(ctx, hv),
                           affected=[guest_path(ctx, hv, domain.name)])  # fmt: skip
        outputs: dict[str, Any] = {"Job": ctx.path(job.classname, namespace=VIRT_NAMESPACE,
                                                   InstanceID=job.instance_id)}
        if job.state is not JobState.COMPLETED:
            _log.warning("%s on %s failed: %s", title, hv.uri, job.error_description)
            return SnapshotReturnCode.FAILED, outputs
        return SnapshotReturnCode.COMPLETED, {**outputs, "ResultingSnapshot": resulting}

    def _named(self, ctx: RequestContext, settings: object) -> tuple[str | None, str | None]:
        """The name and description a SnapshotSettings gives a new snapshot, if it is a
        setting data; libvirt-cim's clients send capabilities there, which name none."""
        if not isinstance(settings, CIMInstance) or not ctx.repository.is_subclass(
                ctx.namespace, settings.classname, "CIM_SettingData"):
            return None, None
        name, description = settings.get("ElementName"), settings.get("Description")
        if name is not None:
            try:
                naming.check_file_name(str(name), _NAME_LENGTH)
            except ValueError as error:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"CreateSnapshot: SnapshotSettings ElementName: {error}") from None
        return (str(name) if name else None), (str(description) if description else None)

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

    def _is_libvirt_snapshot(self, method: str, parameter: str,
                             setting: CIMInstanceName | None) -> bool:  # fmt: skip
        """Whether ``setting`` names one of libvirt's snapshots rather than a guest's
        settings (and so its managed save)."""
        if setting is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: {parameter} is required")
        return names_snapshot(self.hypervisor, setting)

    @contextmanager
    def _libvirt_snapshot(self, setting: CIMInstanceName) -> Iterator[tuple[Domain, str]]:
        """The guest and the name of the snapshot ``setting`` names, the guest held under
        its edit lock for the block and the snapshot found there."""
        hv = self.hypervisor
        guest, name = snapshot_named_at(hv, setting)
        with hv.editing(hv.domain(guest)) as (domain,):
            yield domain, existing_snapshot(domain, name).name

    @contextmanager
    def _saved_state(self, method: str, parameter: str,
                     setting: CIMInstanceName) -> Iterator[Domain]:  # fmt: skip
        """The guest whose saved state ``setting`` (its VSSD) names, with a saved state,
        shut off and held under its edit lock for the block."""
        hv = self.hypervisor
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


def _free_name(taken: set[str]) -> str:
    """A snapshot name not in ``taken``: the time in seconds, as libvirt names one."""
    base = str(int(time.time()))
    candidates = itertools.chain([base], (f"{base}-{n}" for n in itertools.count(1)))
    return next(name for name in candidates if name not in taken)
