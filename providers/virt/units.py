"""Units of allocation: CIM ``AllocationUnits`` strings and libvirt ``unit`` attributes.

CIM clients state quantities in the unit named by a RASD's ``AllocationUnits``
property. DSP0004 (Annex C) defines programmatic units such as ``byte * 2^20``;
older clients, and libvirt-cim, also send names such as ``KiloBytes``
(which libvirt-cim, and so its clients, take as 1024 bytes) or ``MiB``.
libvirt states sizes in the ``unit`` attribute of ``<memory>``,
``<capacity>`` and their kin, with its own spellings (``KiB``, ``k``, ``KB``
which is 1000 bytes...).

Every conversion here is exact integer arithmetic, accepts values up to
2^64 - 1 bytes (no 16-bit or 32-bit limits), and raises :class:`ValueError`
for an unknown unit, a negative value or a result that does not fit.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_BYTES",
    "bytes_from_libvirt",
    "bytes_per_allocation_unit",
    "from_bytes",
    "kib_from_libvirt",
    "libvirt_unit_factor",
    "to_bytes",
]

#: The largest size representable as a CIM uint64.
MAX_BYTES = 2**64 - 1

#: Unit names, compared case-insensitively, that are not programmatic.
#: The decimal-looking names are binary on purpose: libvirt-cim wrote and read
#: them that way, and its clients depend on it.
_NAMED_UNITS = {
    "byte": 1,
    "bytes": 1,
    "b": 1,
    "kilobytes": 2**10,
    "megabytes": 2**20,
    "gigabytes": 2**30,
    "terabytes": 2**40,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
    "eib": 2**60,
}

#: ``byte`` or ``bytes``, then any number of ``* <base>^<exponent>`` or
#: ``* <integer>`` factors (DSP0004 Annex C programmatic units, restricted to
#: the byte base unit that allocation quantities use).
_PROGRAMMATIC = re.compile(r"\s*bytes?\s*((?:\*\s*[0-9]+(?:\s*\^\s*-?[0-9]+)?\s*)*)", re.IGNORECASE)
_FACTOR = re.compile(r"\*\s*([0-9]+)(?:\s*\^\s*(-?[0-9]+))?")

_DIGITS = re.compile("[0-9]+")

#: libvirt's scale suffixes (virScaleInteger): a bare letter or "<letter>iB" is
#: binary, "<letter>B" is decimal; "b"/"bytes" is 1.
_LIBVIRT_EXPONENTS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


def bytes_per_allocation_unit(allocation_units: str) -> int:
    """How many bytes one unit named by a CIM ``AllocationUnits`` string holds.

    ``"byte * 2^20"`` and ``"MegaBytes"`` give 1048576. Fractions of a byte
    (``byte * 2^-1``) and unknown names raise :class:`ValueError`.
    """
    named = _NAMED_UNITS.get(allocation_units.strip().lower())
    if named is not None:
        return named
    match = _PROGRAMMATIC.fullmatch(allocation_units)
    if match is None:
        raise ValueError(f"unknown AllocationUnits {allocation_units!r}")
    factor = 1
    for base, exponent in _FACTOR.findall(match.group(1)):
        factor *= _power(int(base), int(exponent) if exponent else 1, allocation_units)
        _check_fits(factor, allocation_units)
    if factor == 0:
        raise ValueError(f"AllocationUnits {allocation_units!r} is zero bytes")
    return factor


def to_bytes(quantity: int, allocation_units: str) -> int:
    """``quantity`` of ``allocation_units`` in bytes, checked against uint64."""
    _check_quantity(quantity)
    result = quantity * bytes_per_allocation_unit(allocation_units)
    _check_fits(result, f"{quantity} {allocation_units}")
    return result


def from_bytes(size: int, allocation_units: str, *, round_up: bool = True) -> int:
    """``size`` bytes expressed in ``allocation_units``.

    Sizes that are not a whole number of units round up by default, so a
    reported quantity never understates what is allocated.
    """
    _check_quantity(size)
    factor = bytes_per_allocation_unit(allocation_units)
    whole, remainder = divmod(size, factor)
    return whole + 1 if round_up and remainder else whole


def libvirt_unit_factor(unit: str | None) -> int:
    """Bytes per unit for a libvirt ``unit`` attribute (``None`` means ``default``).

    libvirt's default unit for memory is KiB, and callers of this function
    pass ``None`` only for memory; storage callers pass ``"bytes"``.
    """
    if unit is None:
        return 2**10
    spelled = unit.strip().lower()
    if spelled in ("b", "byte", "bytes"):
        return 1
    letter, suffix = spelled[:1], spelled[1:]
    exponent = _LIBVIRT_EXPONENTS.get(letter)
    if exponent is None or suffix not in ("", "ib", "b"):
        raise ValueError(f"unknown libvirt unit {unit!r}")
    return (1000 if suffix == "b" else 1024) ** exponent


def bytes_from_libvirt(value: str | int, unit: str | None) -> int:
    """A libvirt size (element text and its ``unit`` attribute) in bytes."""
    quantity = _parse_integer(value)
    result = quantity * libvirt_unit_factor(unit)
    _check_fits(result, f"{value} {unit or 'KiB'}")
    return result


def kib_from_libvirt(value: str | int, unit: str | None) -> int:
    """A libvirt memory size in KiB, rounded up as libvirt itself does."""
    return -(-bytes_from_libvirt(value, unit) // 1024)


def _power(base: int, exponent: int, allocation_units: str) -> int:
    """``base ** exponent``, refused before computing when it cannot fit."""
    if exponent < 0:
        raise ValueError(f"AllocationUnits {allocation_units!r} is a fraction of a byte")
    if base > 1 and (base.bit_length() - 1) * exponent > 64:
        raise ValueError(f"AllocationUnits {allocation_units!r} is more than 2^64 - 1 bytes")
    return base**exponent


def _parse_integer(value: str | int) -> int:
    if isinstance(value, int):
        quantity = value
    else:
        text = value.strip()
        if not _DIGITS.fullmatch(text):
            raise ValueError(f"size {value!r} is not a non-negative integer")
        quantity = int(text)
    _check_quantity(quantity)
    return quantity


def _check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValueError(f"quantity {quantity!r} is not an integer")
    if quantity < 0:
        raise ValueError(f"quantity {quantity} is negative")


def _check_fits(size: int, what: str) -> None:
    if size > MAX_BYTES:
        raise ValueError(f"{what} is more than 2^64 - 1 bytes")
