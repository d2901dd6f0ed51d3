"""Storage pools, their volumes and virtual networks: records and operations.

:class:`StorageAndNetworks` is the part of
:class:`~providers.virt.connection.Hypervisor` that reads and changes pools,
volumes and networks, so providers speak of them in these records and never
hold a libvirt handle. Every method raises :class:`pywbem.CIMError` on
failure, naming the object and the URI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import libvirt
from lxml import etree

from providers.virt.domainxml import parse_xml
from providers.virt.runner import Runner
from providers.virt.transaction import UndoLog

__all__ = ["Network", "StorageAndNetworks", "StoragePool", "Volume"]

T = TypeVar("T")


@dataclass(frozen=True)
class StoragePool:
    """A libvirt storage pool as fetched at one moment (sizes in bytes)."""

    name: str
    uuid: str
    is_active: bool
    autostart: bool
    capacity: int
    allocation: int
    available: int
    xml: etree._Element = field(repr=False, compare=False)
    handle: libvirt.virStoragePool = field(repr=False, compare=False)

    @property
    def pool_type(self) -> str | None:
        """``dir``, ``fs``, ``netfs``, ``logical``, ``iscsi``..."""
        return self.xml.get("type")

    @property
    def target_path(self) -> str | None:
        return self.xml.findtext("target/path")


@dataclass(frozen=True)
class Volume:
    """A storage volume as fetched at one moment (sizes in bytes).

    ``image_format`` is the ``<target><format type>`` of its XML (raw, qcow2,
    or a device's file system type); ``None`` when it names none.
    """

    name: str
    path: str
    pool: str
    capacity: int
    allocation: int
    image_format: str | None


@dataclass(frozen=True)
class Network:
    """A libvirt virtual network as fetched at one moment."""

    name: str
    uuid: str
    is_active: bool
    autostart: bool
    xml: etree._Element = field(repr=False, compare=False)
    handle: libvirt.virNetwork = field(repr=False, compare=False)

    @property
    def bridge(self) -> str | None:
        bridge = self.xml.find("bridge")
        return bridge.get("name") if bridge is not None else None

    @property
    def forward_mode(self) -> str | None:
        """``nat``, ``route``, ``bridge``...; ``None`` for an isolated network."""
        forward = self.xml.find("forward")
        return forward.get("mode", "nat") if forward is not None else None


class StorageAndNetworks(Runner):
    """Storage pools, volumes and networks of one hypervisor, through :meth:`run`."""

    # storage pools

    def storage_pools(self) -> list[StoragePool]:
        return self.run(
            "storage pools",
            lambda conn: [_storage_pool(pool) for pool in conn.listAllStoragePools()],
            read=True,
        )

    def storage_pool(self, name: str) -> StoragePool:
        return self.run(
            f"storage pool {name!r}",
            lambda conn: _storage_pool(conn.storagePoolLookupByName(name)),
            read=True,
        )

    def create_storage_pool(self, xml: etree._Element, *, autostart: bool) -> None:
        """Define, build (a ``dir`` pool's folder), start and maybe autostart a pool.

        When a step fails, what the earlier ones made is removed again.
        """
        text = etree.tostring(xml, encoding="unicode")
        what = f"storage pool {xml.findtext('name')!r}"
        with UndoLog(self.uri) as undo:
            handle = self.run(what, lambda conn: conn.storagePoolDefineXML(text, 0),
                              read=False, action="define")  # fmt: skip
            undo.record(f"undefine {what}", lambda: self._call(what, "undefine", handle.undefine))
            if xml.get("type") == "dir":
                self._call(what, "build", handle.build, 0)
                undo.record(f"remove the folder of {what}",
                            lambda: self._call(what, "remove the folder of", handle.delete, 0))
            self._call(what, "start", handle.create, 0)
            undo.record(f"stop {what}", lambda: self._call(what, "stop", handle.destroy))
            if autostart:
                self._call(what, "autostart", handle.setAutostart, 1)

    def delete_storage_pool(self, name: str) -> None:
        """Stop and undefine a storage pool (its volumes and folder stay)."""
        handle = self.storage_pool(name).handle
        self._stop_and_undefine(f"storage pool {name!r}", handle, lambda: handle.create(0))

    def refresh_storage_pool(self, pool: StoragePool) -> None:
        """Have libvirt look again at what ``pool`` holds."""
        self.run(f"storage pool {pool.name!r}", lambda _conn: pool.handle.refresh(0),
                 read=False, action="refresh")  # fmt: skip

    # volumes

    def volumes(self, pool: StoragePool) -> list[Volume]:
        """The volumes of an active storage pool, as libvirt last saw them.

        A volume deleted since the pool last looked is left out: a pool keeps
        listing it until refreshed, which a pool sharing its folder with
        another (libvirt's ``default`` and a client's pool on
        /var/lib/libvirt/images) does not see happen.
        """
        return self._each_volume(pool, lambda volume: _volume(volume, pool.name))

    def volume_paths(self, pool: StoragePool) -> list[str]:
        """The paths of the volumes of an active storage pool (as :meth:`volumes`)."""
        return self._each_volume(pool, lambda volume: volume.path())

    def volume(self, path: str) -> Volume:
        """The volume at ``path``, in whichever pool holds it."""
        def read(conn: libvirt.virConnect) -> Volume:
            volume = conn.storageVolLookupByPath(path)
            return _volume(volume, volume.storagePoolLookupByVolume().name())

        return self.run(f"volume {path!r}", read)

    def volume_in(self, pool: StoragePool, name: str, *, what: str | None = None) -> Volume:
        """The volume ``name`` of ``pool``; ``what`` names it in errors."""
        what = what or f"volume {name!r} in storage pool {pool.name!r}"
        return self.run(what, lambda _conn: _volume(pool.handle.storageVolLookupByName(name),
                                                     pool.name))  # fmt: skip

    def create_volume(self, pool: StoragePool, xml: etree._Element) -> Volume:
        """Create a volume from its XML in ``pool``."""
        text = etree.tostring(xml, encoding="unicode")
        what = f"volume {xml.findtext('name')!r} in storage pool {pool.name!r}"
        with UndoLog(self.uri) as undo:
            handle = self._call(what, "create", pool.handle.createXML, text, 0)
            undo.record(f"delete {what}", lambda: self._call(what, "delete", handle.delete, 0))
            return self.run(what, lambda _conn: _volume(handle, pool.name))

    def delete_volume(self, volume: Volume) -> None:
        """Delete a volume and its storage."""
        def delete(conn: libvirt.virConnect) -> None:
            conn.storageVolLookupByPath(volume.path).delete(0)

        self.run(f"volume {volume.name!r} in storage pool {volume.pool!r}", delete,
                 read=False, action="delete")  # fmt: skip

    # networks

    def networks(self) -> list[Network]:
        return self.run(
            "networks",
            lambda conn: [_network(network) for network in conn.listAllNetworks()],
            read=True,
        )

    def network(self, name: str) -> Network:
        return self.run(
            f"network {name!r}", lambda conn: _network(conn.networkLookupByName(name)), read=True
        )

    def create_network(self, xml: etree._Element) -> None:
        """Define and start a network; one that does not start is undefined again."""
        text = etree.tostring(xml, encoding="unicode")
        what = f"network {xml.findtext('name')!r}"
        with UndoLog(self.uri) as undo:
            handle = self.run(what, lambda conn: conn.networkDefineXML(text), read=False,
                              action="define")  # fmt: skip
            undo.record(f"undefine {what}", lambda: self._call(what, "undefine", handle.undefine))
            self._call(what, "start", handle.create)

    def delete_network(self, name: str) -> None:
        """Stop and undefine a network."""
        handle = self.network(name).handle
        self._stop_and_undefine(f"network {name!r}", handle, handle.create)

    # plumbing

    def _call(self, what: str, action: str, call: Callable[..., T], *args: object) -> T:
        """``call(*args)``: a change to ``what`` on a handle already fetched."""
        return self.run(what, lambda _conn: call(*args), read=False, action=action)

    def _stop_and_undefine(self, what: str, handle: libvirt.virStoragePool | libvirt.virNetwork,
                           start: Callable[[], object]) -> None:
        """Stop an active pool or network, then undefine it; started again when that fails.

        (libvirt refuses to undefine an active storage pool, so a stop comes
        first; a pool started again finds its volumes where they were.)
        """
        with UndoLog(self.uri) as undo:
            if self.run(what, lambda _conn: handle.isActive()):
                self._call(what, "stop", handle.destroy)
                undo.record(f"start {what} again", lambda: self._call(what, "start", start))
            self._call(what, "undefine", handle.undefine)

    def _each_volume(self, pool: StoragePool, read: Callable[[libvirt.virStorageVol], T]
                     ) -> list[T]:  # fmt: skip
        def read_each(_conn: libvirt.virConnect) -> list[T]:
            found = []
            for volume in pool.handle.listAllVolumes():
                try:
                    found.append(read(volume))
                except libvirt.libvirtError as error:
                    if error.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                        raise
            return found

        return self.run(f"storage pool {pool.name!r}", read_each)


def _storage_pool(handle: libvirt.virStoragePool) -> StoragePool:
    _state, capacity, allocation, available = handle.info()
    return StoragePool(
        name=handle.name(),
        uuid=handle.UUIDString(),
        is_active=bool(handle.isActive()),
        autostart=bool(handle.autostart()),
        capacity=capacity,
        allocation=allocation,
        available=available,
        xml=parse_xml(handle.XMLDesc(0)),
        handle=handle,
    )


def _volume(handle: libvirt.virStorageVol, pool: str) -> Volume:
    _type, capacity, allocation = handle.info()
    image_format = parse_xml(handle.XMLDesc(0)).find("target/format")
    return Volume(
        name=handle.name(),
        path=handle.path(),
        pool=pool,
        capacity=capacity,
        allocation=allocation,
        image_format=image_format.get("type") if image_format is not None else None,
    )


def _network(handle: libvirt.virNetwork) -> Network:
    return Network(
        name=handle.name(),
        uuid=handle.UUIDString(),
        is_active=bool(handle.isActive()),
        autostart=bool(handle.autostart()),
        xml=parse_xml(handle.XMLDesc(0)),
        handle=handle,
    )
