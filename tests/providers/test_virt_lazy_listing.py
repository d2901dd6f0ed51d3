"""Listing guests lazily and keeping the domain cache bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pywbem import CIMClassName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor
from providers.virt import connection as connection_module
from tests.providers.conftest import Cim
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

GUESTS = 12


def node_with_guests(count: int) -> str:
    domains = "".join(
        f"<domain type='test'><name>lazy-{n}</name><memory>65536</memory>"
        f"<os><type>hvm</type></os></domain>"
        for n in range(count))
    return f"<node>{domains}</node>"


@pytest.fixture
def many_guests(tmp_path: Path) -> Iterator[Hypervisor]:
    node = tmp_path / "node.xml"
    node.write_text(node_with_guests(GUESTS))
    hv = Hypervisor(f"test://{node}")
    yield hv
    hv.close()


@pytest.fixture
def loads(many_guests: Hypervisor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the domains whose state and XML were fetched, in order."""
    fetched: list[str] = []
    load = Hypervisor._load

    def counting_load(self, handle):
        fetched.append(handle.name())
        return load(self, handle)

    monkeypatch.setattr(Hypervisor, "_load", counting_load)
    return fetched


def test_iterating_guests_fetches_each_only_when_reached(many_guests, loads):
    guests = many_guests.iter_domains()
    first = next(guests)
    assert loads == [first.name]
    assert len([first, *guests]) == GUESTS
    assert len(loads) == GUESTS


def test_first_page_of_a_pulled_enumeration_fetches_only_that_page(many_guests, loads, cim_for):
    cim = cim_for(many_guests)
    result = cim.dispatcher.intrinsic(IntrinsicCall(
        "1", "OpenEnumerateInstances", VIRT_NAMESPACE,
        {"ClassName": CIMClassName("Test_ComputerSystem"), "MaxObjectCount": 2}))
    assert len(result.items) == 2
    assert not result.end_of_sequence
    assert len(loads) <= 3  # the page, and at most one guest read ahead


def test_the_cache_keeps_at_most_its_capacity_and_still_answers_right(
        many_guests, loads, monkeypatch):
    monkeypatch.setattr(connection_module, "CACHE_CAPACITY", 4)
    names = [domain.name for domain in many_guests.iter_domains()]
    assert len(many_guests._cache) == 4
    assert [domain.name for domain in many_guests.iter_domains()] == names
    recent = names[-4:]
    cached = [many_guests.domain(name) for name in recent]
    assert [domain.name for domain in cached] == recent
    assert all(many_guests.domain(name) is domain for name, domain in zip(recent, cached, strict=True))


def test_a_state_change_made_elsewhere_shows_in_the_next_listing(many_guests):
    listed = {domain.name: domain.is_active for domain in many_guests.iter_domains()}
    assert listed["lazy-3"]
    many_guests.run("guest", lambda conn: conn.lookupByName("lazy-3").destroy(), read=False)
    relisted = {domain.name: domain.is_active for domain in many_guests.iter_domains()}
    assert not relisted["lazy-3"]
    assert sum(relisted.values()) == GUESTS - 1


@pytest.fixture
def cim_for(repository):
    """The CIM model over a given hypervisor."""
    dispatchers = []

    def make(hv: Hypervisor) -> Cim:
        registry = ProviderRegistry()
        register_providers(registry, repository, [hv])
        dispatcher = Dispatcher(repository, registry)
        dispatchers.append(dispatcher)
        return Cim(dispatcher, hv)

    yield make
    for dispatcher in dispatchers:
        dispatcher.close()
