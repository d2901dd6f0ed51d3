"""Guests that vanish mid-request, every time: another libvirt client removes one right
after a chosen libvirt call of the server's (the listing, the read of its XML...)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import libvirt
import pytest
from pywbem import CIMInstanceName

__all__ = ["AFTER_ITS_XML", "AFTER_THE_LISTING", "AFTER_THE_LOOKUP", "Vanisher", "mentions"]

#: The calls that list guests (whichever one the connection makes).
AFTER_THE_LISTING = [(libvirt.virConnect, "getAllDomainStats"),
                     (libvirt.virConnect, "listAllDomains")]
#: The read of one guest's XML: the guest is gone for the reads that follow.
AFTER_ITS_XML = [(libvirt.virDomain, "XMLDesc")]
#: The lookups of one guest by name or UUID.
AFTER_THE_LOOKUP = [(libvirt.virConnect, "lookupByName"),
                    (libvirt.virConnect, "lookupByUUIDString")]


class Vanisher:
    """Removes the guest ``name`` through ``conn`` once armed, right after the first of
    ``calls`` that lists guests or reads that guest, in any thread."""

    def __init__(self, conn: libvirt.virConnect, monkeypatch: pytest.MonkeyPatch,
                 calls: list[tuple[type, str]], name: str, xml: str, running: bool) -> None:
        self.conn = conn
        self.name = name
        self.xml = xml
        self.running = running
        #: Whether the guest is read before it vanishes.
        self.read_first = any(cls is libvirt.virDomain for cls, _ in calls)
        self.armed = False
        self.vanished = False
        self._lock = threading.Lock()
        for cls, method in calls:
            monkeypatch.setattr(cls, method, self._wrap(getattr(cls, method)))

    def define(self) -> None:
        """Define the guest (and start it, for a running one), unarmed."""
        domain = self.conn.defineXML(self.xml)
        if self.running:
            domain.create()
        self.armed = self.vanished = False

    def arm(self) -> None:
        self.armed = True

    def remove(self) -> None:
        """Remove the guest if it is still there."""
        self.armed = False
        try:
            domain = self.conn.lookupByName(self.name)
        except libvirt.libvirtError:
            return
        if domain.isActive():
            domain.destroy()
        domain.undefine()

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(target: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(target, *args, **kwargs)
            with self._lock:  # once, whichever thread comes first
                fire = self.armed and self._about_the_guest(target, result)
                self.armed = self.armed and not fire
            if fire:
                self.remove()
                self.vanished = True
            return result

        return wrapped

    def _about_the_guest(self, target: Any, result: Any) -> bool:
        """Whether a call listed guests, or read or found this one."""
        if isinstance(target, libvirt.virDomain):
            return target.name() == self.name
        return not isinstance(result, libvirt.virDomain) or result.name() == self.name


def mentions(value: object, name: str) -> bool:
    """Whether a key value or instance path names the guest ``name``: its name,
    ``<name>/<device>``, ``<Prefix>:<name>``, or a reference to anything of it."""
    if isinstance(value, CIMInstanceName):
        return any(mentions(key, name) for key in value.keybindings.values())
    if isinstance(value, str):
        return value == name or value.startswith(f"{name}/") or value.endswith(f":{name}")
    return False
