"""What the parts of the adapter need of a hypervisor's connection: to run libvirt calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import libvirt

__all__ = ["Runner"]

T = TypeVar("T")


class Runner(Protocol):
    """A connection that runs libvirt calls, with libvirt errors as CIM errors."""

    uri: str

    def run(
        self,
        what: str,
        operation: Callable[[libvirt.virConnect], T],
        *,
        read: bool = True,
        action: str | None = None,
    ) -> T:
        """``operation(conn)``; a libvirt error becomes a CIM error naming ``what``."""
        ...
