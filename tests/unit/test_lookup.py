"""Lookups where naming nothing is an answer (providers.lookup)."""

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError

from providers.lookup import existing_domain, or_none


def fails(code):
    def find():
        raise CIMError(code, "no such thing")
    return find


def test_what_is_found_is_returned():
    assert or_none(lambda: "web1") == "web1"


def test_not_found_is_none():
    assert or_none(fails(CIM_ERR_NOT_FOUND)) is None


def test_any_other_failure_is_raised():
    with pytest.raises(CIMError) as error:
        or_none(fails(CIM_ERR_FAILED))
    assert error.value.status_code == CIM_ERR_FAILED


class Hypervisor:
    """Knows one guest, ``web1``; the others are not found, as libvirt says."""

    def domain(self, name):
        if name != "web1":
            raise CIMError(CIM_ERR_NOT_FOUND, f"no guest {name!r}")
        return f"<domain {name}>"


def test_an_existing_domain_is_found_and_a_missing_or_unnamed_one_is_none():
    hv = Hypervisor()
    assert existing_domain(hv, "web1") == "<domain web1>"
    assert existing_domain(hv, "gone") is None
    assert existing_domain(hv, None) is None
