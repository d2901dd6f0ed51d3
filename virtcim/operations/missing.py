"""Which key of a path names no instance, worded as libvirt-cim's clients read it.

``CIM_ERR_NOT_FOUND`` says ``No such instance (Name)``: the first key, in the
class's order, whose value no instance has beside the keys before it. Only
asked after a lookup failed, so the enumeration it needs costs nothing on the
way to an instance that exists.

A path without its identifier (``InstanceID``, ``DeviceID``, a guest's
``Name``) is, for the providers that name one
(:attr:`~virtcim.provider.InstanceProvider.identifier`), no lookup that failed
but a request that could not be made: libvirt-cim answered it
``CIM_ERR_FAILED``, ``Missing InstanceID``, and its clients check for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from virtcim.provider import same_keys

__all__ = ["MAX_CANDIDATES", "blamed_key", "missing_key_error", "not_found_message"]

#: How many instances are compared at most: an answer is a courtesy, not worth a long walk.
MAX_CANDIDATES = 100_000


def blamed_key(path: CIMInstanceName, key_names: Sequence[str],
               candidates: Iterable[CIMInstanceName]) -> str | None:
    """The first of ``key_names`` that ``path`` lacks, or whose value matches no candidate.

    The candidates are narrowed key after key, so a wrong system name is
    blamed before the device identifier that only exists within it.
    ``None`` when every key matches some candidate.
    """
    for name in key_names:
        if name not in path.keybindings:
            return name
    remaining = list(islice(candidates, MAX_CANDIDATES))
    for name in key_names:
        wanted = path.keybindings[name]
        remaining = [found for found in remaining
                     if name in found.keybindings and _equal(found.keybindings[name], wanted)]
        if not remaining:
            return name
    return None


def missing_key_error(key: str, where: str, identifier: tuple[str, str] | None) -> CIMError:
    """The error for a path of ``where`` (class and keys) without a value for ``key``.

    ``identifier`` is the key its provider cannot do without, and what it names.
    """
    if identifier is not None and key.lower() == identifier[0].lower():
        return CIMError(CIM_ERR_FAILED,
                        f"Missing {key}: No {identifier[1]} specified for {where}")
    return CIMError(CIM_ERR_NOT_FOUND, not_found_message(key, f"{where} has no value for it"))


def not_found_message(key: str | None, detail: str) -> str:
    """libvirt-cim's wording, then what the provider said."""
    head = f"No such instance ({key})" if key else "No such instance"
    return f"{head}: {detail}" if detail else head


def _equal(found: object, wanted: object) -> bool:
    if isinstance(found, CIMInstanceName) and isinstance(wanted, CIMInstanceName):
        return same_keys(found, wanted)
    return str(found) == str(wanted)
