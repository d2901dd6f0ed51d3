"""AllocationUnits and libvirt units: exact, unbounded by 16 bits, strict."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.virt import units


@pytest.mark.parametrize(
    ("allocation_units", "factor"),
    [
        ("byte", 1),
        ("Bytes", 1),
        ("byte * 2^10", 2**10),
        ("byte*2^20", 2**20),
        ("BYTE * 2 ^ 30", 2**30),
        ("bytes * 10^3", 1000),
        ("byte * 1024 * 2^10", 2**20),
        ("KiloBytes", 2**10),
        ("MegaBytes", 2**20),
        ("Megabytes", 2**20),
        ("GigaBytes", 2**30),
        ("KiB", 2**10),
        ("MiB", 2**20),
        ("GiB", 2**30),
        ("TiB", 2**40),
    ],
)
def test_allocation_units_give_bytes_per_unit(allocation_units, factor):
    assert units.bytes_per_allocation_unit(allocation_units) == factor


@pytest.mark.parametrize(
    "allocation_units",
    ["", "furlongs", "byte * 2^-1", "byte * 2^65", "byte * 9^999999999", "byte * 0",
     "byte * 2^10 extra", "bit * 2^10", "byte * ²"],
)  # fmt: skip
def test_unknown_or_impossible_allocation_units_are_refused(allocation_units):
    with pytest.raises(ValueError, match="AllocationUnits"):
        units.bytes_per_allocation_unit(allocation_units)


def test_quantities_beyond_16_bits_convert_exactly():
    assert units.to_bytes(70000, "MegaBytes") == 70000 * 2**20
    assert units.to_bytes(2**34 - 1, "byte*2^30") == 2**64 - 2**30


def test_quantity_overflowing_uint64_is_refused():
    with pytest.raises(ValueError, match="2\\^64"):
        units.to_bytes(2**44, "MiB")


@pytest.mark.parametrize("quantity", [-1, 1.5, True, "10"])
def test_quantity_must_be_a_non_negative_integer(quantity):
    with pytest.raises(ValueError):
        units.to_bytes(quantity, "KiB")


def test_from_bytes_rounds_up_unless_asked_not_to():
    assert units.from_bytes(2**20 + 1, "MiB") == 2
    assert units.from_bytes(2**20 + 1, "MiB", round_up=False) == 1
    assert units.from_bytes(3 * 2**20, "byte*2^20") == 3


@given(
    st.integers(min_value=0, max_value=2**34 - 1),
    st.sampled_from(["KiB", "byte*2^20", "GigaBytes"]),
)
def test_to_and_from_bytes_round_trip(quantity, allocation_units):
    assert (
        units.from_bytes(units.to_bytes(quantity, allocation_units), allocation_units) == quantity
    )


@pytest.mark.parametrize(
    ("value", "unit", "kib"),
    [
        ("524288", "KiB", 524288),
        ("524288", None, 524288),
        ("512", "MiB", 524288),
        ("512", "M", 524288),
        ("1", "GiB", 1048576),
        ("1024000", "KB", 1000000),
        ("1", "b", 1),
        ("2048", "bytes", 2),
        ("1", "TiB", 2**30),
    ],
)
def test_libvirt_sizes_in_kib(value, unit, kib):
    assert units.kib_from_libvirt(value, unit) == kib


@pytest.mark.parametrize(("value", "unit"), [("12", "parsecs"), ("-1", "KiB"), ("1e3", "KiB"), ("", "KiB"),
                                             ("١٢", "KiB"), ("1", "KiBB")])  # fmt: skip
def test_bad_libvirt_sizes_are_refused(value, unit):
    with pytest.raises(ValueError):
        units.kib_from_libvirt(value, unit)


def test_libvirt_size_beyond_uint64_is_refused():
    with pytest.raises(ValueError, match="2\\^64"):
        units.bytes_from_libvirt(str(2**64), "KiB")
