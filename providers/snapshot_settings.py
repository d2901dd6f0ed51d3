"""libvirt's snapshots of the guests: ``<Prefix>_SnapshotSettingData`` and its associations.

A snapshot is a ``CIM_VirtualSystemSettingData`` of its own class, so that
libvirt-cim's clients, which count one ``<Prefix>_VirtualSystemSettingData``
per guest, still do; InstanceID ``<Prefix>:<guest>/<snapshot>``.

* :data:`GUEST_SNAPSHOTS` for SnapshotOfVirtualSystem: Antecedent a guest,
  Dependent each of its snapshots.
* :data:`CURRENT_SNAPSHOTS` for MostCurrentSnapshotInBranch: Antecedent a
  guest, Dependent its current snapshot in libvirt.
* :data:`SNAPSHOT_TREE` for ParentChildSettingData (Hyper-V's name for it;
  DMTF has no class for it): Antecedent a snapshot, Dependent each snapshot
  taken from it.

libvirt sends no events for snapshots: each request reads them afresh.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.computer_system import guest_name_at
from providers.links import Link
from providers.lookup import existing_domain
from providers.memo import guests
from providers.paths import COMPUTER_SYSTEM, SNAPSHOT_SETTING_DATA, guest_path, snapshot_path
from providers.per_guest import PerGuestProvider
from providers.valuemaps import ChangeableType, SnapshotType
from providers.virt import Domain, Hypervisor, naming
from providers.virt.errors import NoSuchGuest
from providers.virt.snapshots import DomainSnapshot
from virtcim.provider import RequestContext

__all__ = [
    "CURRENT_SNAPSHOTS",
    "GUEST_SNAPSHOTS",
    "SNAPSHOT_TREE",
    "SnapshotSettingDataProvider",
    "existing_snapshot",
    "names_snapshot",
    "snapshot_at",
    "snapshot_named_at",
]


def names_snapshot(hv: Hypervisor, path: CIMInstanceName) -> bool:
    """Whether ``path`` is of ``hv``'s snapshot class (or its ``Virt_`` base)."""
    prefix, _, generic = path.classname.partition("_")
    return generic.lower() == SNAPSHOT_SETTING_DATA.lower() and prefix in (hv.prefix, "Virt")


def snapshot_at(hv: Hypervisor, path: CIMInstanceName) -> tuple[Domain, DomainSnapshot]:
    """The guest and the snapshot ``path`` names; ``CIM_ERR_NOT_FOUND`` when it names none."""
    guest, name = snapshot_named_at(hv, path)
    domain = hv.domain(guest)
    return domain, existing_snapshot(domain, name)


def snapshot_named_at(hv: Hypervisor, path: CIMInstanceName) -> tuple[str, str]:
    """The guest's name and the snapshot's ``path`` gives (neither is looked for);
    ``CIM_ERR_NOT_FOUND`` when it is no snapshot's path of ``hv``."""
    instance_id = path.keybindings.get("InstanceID")
    try:
        prefix, guest, name = naming.parse_snapshot_instance_id(str(instance_id))
    except ValueError as error:
        raise CIMError(CIM_ERR_NOT_FOUND, f"{path} names no snapshot: {error}") from None
    if not names_snapshot(hv, path) or prefix != hv.prefix:
        raise CIMError(CIM_ERR_NOT_FOUND, f"{path} names no snapshot on {hv.uri}")
    return guest, name


def existing_snapshot(domain: Domain, name: str) -> DomainSnapshot:
    """The guest's snapshot ``name``; ``CIM_ERR_NOT_FOUND`` when it has none so named."""
    snapshot = domain.snapshot(name)
    if snapshot is None:
        raise CIMError(CIM_ERR_NOT_FOUND, f"guest {domain.name!r} has no snapshot {name!r} "
                                          f"on {domain.hypervisor.uri}")
    return snapshot


def snapshots_of(ctx: RequestContext, domain: Domain) -> list[DomainSnapshot]:
    """The guest's snapshots, read once per request: a traversal from a guest through
    both associations reads them once."""
    return ctx.memo(("snapshots", domain.hypervisor.uri, domain.uuid), domain.snapshots)


def snapshot_setting(
    ctx: RequestContext, hv: Hypervisor, domain: Domain, snapshot: DomainSnapshot
) -> CIMInstance:
    path = snapshot_path(ctx, hv, domain.name, snapshot.name)
    return ctx.instance(
        path.classname,
        InstanceID=path["InstanceID"],
        ElementName=snapshot.name,
        Description=snapshot.description,
        VirtualSystemIdentifier=domain.name,
        VirtualSystemType=hv.prefix,
        CreationTime=snapshot.created,
        ChangeableType=ChangeableType.NOT_CHANGEABLE_PERSISTENT,
        SnapshotType=SnapshotType.DISK if snapshot.disk_only else SnapshotType.FULL,
    )


class SnapshotSettingDataProvider(PerGuestProvider):
    """``<Prefix>_SnapshotSettingData``: one per libvirt snapshot of every guest."""

    def instances_of(
        self, ctx: RequestContext, classname: str, domain: Domain
    ) -> Iterable[CIMInstance]:
        return [snapshot_setting(ctx, self.hypervisor, domain, snapshot)
                for snapshot in snapshots_of(ctx, domain)]  # fmt: skip

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        return snapshot_setting(ctx, self.hypervisor, *snapshot_at(self.hypervisor, path))


def _every_guests_snapshots(
    ctx: RequestContext, hv: Hypervisor
) -> Iterator[tuple[Domain, list[DomainSnapshot]]]:
    """Each guest with its snapshots; a guest removed since the listing is left out."""
    for domain in guests(ctx, hv):
        try:
            snapshots = snapshots_of(ctx, domain)
        except NoSuchGuest:
            continue
        yield domain, snapshots


def _snapshot_or_none(hv: Hypervisor, path: CIMInstanceName) -> tuple[Domain, DomainSnapshot] | None:
    try:
        return snapshot_at(hv, path)
    except CIMError:
        return None


class _SnapshotLinks(abc.ABC):
    """Links made from the snapshots of each guest."""

    ends: Mapping[str, frozenset[str]]

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for domain, snapshots in _every_guests_snapshots(ctx, hv):
            yield from self.links(ctx, hv, domain, snapshots)

    @abc.abstractmethod
    def links(self, ctx: RequestContext, hv: Hypervisor, domain: Domain,
              snapshots: Iterable[DomainSnapshot]) -> Iterator[Link]:  # fmt: skip
        """The links these of ``domain``'s ``snapshots`` make."""


class GuestSnapshots(_SnapshotLinks):
    """A guest (Antecedent) and its snapshots (Dependent): all, or its current one alone."""

    ends = {"Antecedent": frozenset({COMPUTER_SYSTEM}),
            "Dependent": frozenset({SNAPSHOT_SETTING_DATA})}

    def __init__(self, current_only: bool) -> None:
        self.current_only = current_only

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == "Antecedent":
            domain = existing_domain(hv, guest_name_at(hv, source))
            return self.links(ctx, hv, domain, snapshots_of(ctx, domain)) if domain else []
        found = _snapshot_or_none(hv, source)
        return self.links(ctx, hv, found[0], [found[1]]) if found else []

    def links(self, ctx: RequestContext, hv: Hypervisor, domain: Domain,
              snapshots: Iterable[DomainSnapshot]) -> Iterator[Link]:  # fmt: skip
        for snapshot in snapshots:
            if snapshot.is_current or not self.current_only:
                yield {"Antecedent": guest_path(ctx, hv, domain.name),
                       "Dependent": snapshot_path(ctx, hv, domain.name, snapshot.name)}


class SnapshotTree(_SnapshotLinks):
    """A snapshot (Antecedent) and each snapshot taken from it (Dependent)."""

    ends = {"Antecedent": frozenset({SNAPSHOT_SETTING_DATA}),
            "Dependent": frozenset({SNAPSHOT_SETTING_DATA})}

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        found = _snapshot_or_none(hv, source)
        if found is None:
            return []
        domain, snapshot = found
        if role == "Dependent":
            return self.links(ctx, hv, domain, [snapshot])
        return self.links(ctx, hv, domain, [child for child in snapshots_of(ctx, domain)
                                            if child.parent == snapshot.name])  # fmt: skip

    def links(self, ctx: RequestContext, hv: Hypervisor, domain: Domain,
              snapshots: Iterable[DomainSnapshot]) -> Iterator[Link]:  # fmt: skip
        for child in snapshots:
            if child.parent is not None:
                yield {"Antecedent": snapshot_path(ctx, hv, domain.name, child.parent),
                       "Dependent": snapshot_path(ctx, hv, domain.name, child.name)}


GUEST_SNAPSHOTS = GuestSnapshots(current_only=False)
CURRENT_SNAPSHOTS = GuestSnapshots(current_only=True)
SNAPSHOT_TREE = SnapshotTree()
