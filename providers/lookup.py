"""Finding what a path names where naming nothing is an answer, not an error.

An association from an object that does not exist has no links, and a
definition may or may not replace a guest: there a lookup that fails
``CIM_ERR_NOT_FOUND`` means "none"; any other failure is still raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pywbem import CIM_ERR_NOT_FOUND, CIMError

from providers.virt import Domain, Hypervisor

__all__ = ["existing_domain", "or_none"]

T = TypeVar("T")


def or_none(find: Callable[[], T]) -> T | None:
    """``find()``, or ``None`` when it fails ``CIM_ERR_NOT_FOUND``."""
    try:
        return find()
    except CIMError as error:
        if error.status_code != CIM_ERR_NOT_FOUND:
            raise
        return None


def existing_domain(hv: Hypervisor, name: str | None) -> Domain | None:
    """The domain ``name``, or ``None`` when there is none (a link to nothing is no link)."""
    return or_none(lambda: hv.domain(name)) if name is not None else None
