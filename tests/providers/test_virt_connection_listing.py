"""Listing guests lazily and keeping the domain cache bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pywbem import CIMClassName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor, naming
from providers.virt import cache as cache_module
from providers.virt import connection as connection_module
from tests.providers.conftest import Cim, record_asks
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
    """Names of the listed domains whose XML was asked of libvirt, in order."""
    return record_asks(monkeypatch, "XMLDesc")


@pytest.fixture
def state_asks(many_guests: Hypervisor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the domains whose state was asked of libvirt one by one, in order."""
    return record_asks(monkeypatch, "state")


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


def test_the_providers_of_one_request_share_one_listing(many_guests, loads, cim_for):
    cim = cim_for(many_guests)
    settings = cim.enumerate("CIM_ResourceAllocationSettingData")
    assert {inst.classname for inst in settings} >= {"Test_ProcResourceAllocationSettingData",
                                                      "Test_MemResourceAllocationSettingData"}
    assert sorted(loads) == sorted(f"lazy-{n}" for n in range(GUESTS))


def test_a_listing_walked_again_sees_the_same_snapshots_and_skips_the_undefined(
        many_guests, loads):
    listing = many_guests.listing()
    first = list(listing)
    gone = next(domain.uuid for domain in first if domain.name == "lazy-5")
    many_guests.run("guest", lambda conn: conn.lookupByName("lazy-5").undefine(), read=False)
    many_guests.run("guest", lambda conn: conn.lookupByName("lazy-5").destroy(), read=False)
    again = list(listing)
    assert all(a is b for a, b in zip(again, first, strict=True)) and len(again) == GUESTS
    assert len(loads) == GUESTS
    # Once its event has dropped lazy-5 from the cache and nobody holds the old
    # snapshot, a walk fetches it again and finds it gone.
    del first, again
    wait_until(lambda: gone not in many_guests._cache)
    assert "lazy-5" not in [domain.name for domain in listing]
    assert loads[GUESTS:] == ["lazy-5"]


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the domain event never arrived"
        time.sleep(0.01)


def test_the_cache_keeps_at_most_its_capacity_and_still_answers_right(
        many_guests, loads, monkeypatch):
    monkeypatch.setattr(cache_module, "CACHE_CAPACITY", 4)
    names = [domain.name for domain in many_guests.iter_domains()]
    assert len(many_guests._cache) == 4
    assert [domain.name for domain in many_guests.iter_domains()] == names
    recent = names[-4:]
    cached = [many_guests.domain(name) for name in recent]
    assert [domain.name for domain in cached] == recent
    assert all(many_guests.domain(name) is domain for name, domain in zip(recent, cached, strict=True))


def test_listings_longer_than_the_cache_keep_hitting_what_it_holds(many_guests, monkeypatch):
    monkeypatch.setattr(cache_module, "CACHE_CAPACITY", 4)
    first = list(many_guests.iter_domains())
    second = list(many_guests.iter_domains())
    assert [a is b for a, b in zip(first, second, strict=True)] == [True] * 4 + [False] * 8
    looked_up = many_guests.domain(first[-1].name)  # one guest asked for evicts the oldest
    assert many_guests.domain(first[-1].name) is looked_up
    assert len(many_guests._cache) == 4


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


class StatsConnection:
    """A connection whose getAllDomainStats gives ``stats`` for each domain of ``conn``."""

    def __init__(self, conn, stats):
        self.conn, self.stats = conn, stats

    def getAllDomainStats(self, stats, flags):
        return [(handle, self.stats(handle)) for handle in self.conn.listAllDomains()]


def state_stats(handle):
    """The state record getAllDomainStats gives (read with info(), not the state() counted)."""
    return {"state.state": handle.info()[0], "state.reason": 0}


def test_bulk_states_serve_the_listing_and_a_guest_reported_without_is_asked_alone(
        many_guests, state_asks):
    conn = many_guests.run("guests", lambda conn: conn)
    partial = "lazy-4"

    def stats(handle):
        return {} if handle.name() == partial else state_stats(handle)

    handles, looks = many_guests._looks_in_bulk(StatsConnection(conn, stats))
    listing = connection_module.DomainListing(many_guests, handles, looks)
    assert sorted(domain.name for domain in listing) == sorted(f"lazy-{n}" for n in range(GUESTS))
    assert state_asks == [partial]
    assert many_guests._bulk_states is True


def test_a_driver_that_reports_no_state_in_bulk_is_listed_guest_by_guest(many_guests):
    conn = many_guests.run("guests", lambda conn: conn)
    assert many_guests._looks_in_bulk(StatsConnection(conn, lambda handle: {})) is None
    assert many_guests._bulk_states is False


@pytest.fixture
def xml_asks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the domains whose XML was asked of libvirt, from any thread."""
    return record_asks(monkeypatch, "XMLDesc")


@pytest.fixture
def reading_ahead(many_guests: Hypervisor, monkeypatch: pytest.MonkeyPatch) -> Hypervisor:
    """``many_guests`` listed as a daemon's guests are: XML asked ahead, four at most."""
    monkeypatch.setattr(connection_module, "READ_AHEAD", 4)
    monkeypatch.setattr(naming, "runs_in_process", lambda uri: False)
    return many_guests


def test_the_test_driver_in_process_is_read_without_threads(many_guests):
    assert many_guests._xml_reader() is None


def test_reading_ahead_gives_the_same_walk_asking_each_guest_once(reading_ahead, xml_asks):
    listing = reading_ahead.listing()
    listed = [handle.name() for handle in listing._handles]
    assert [domain.name for domain in listing] == listed
    assert sorted(listed) == sorted(f"lazy-{n}" for n in range(GUESTS))
    assert sorted(xml_asks) == sorted(listed)
    assert [domain.name for domain in reading_ahead.listing()] == listed


def test_a_walk_that_stops_early_leaves_at_most_the_read_ahead_unread(reading_ahead, xml_asks):
    listing = reading_ahead.listing()
    first = next(iter(listing))
    ahead = [handle.name() for handle in listing._handles[:4]]
    assert first.name == ahead[0]
    wait_until(lambda: len(xml_asks) == 4)
    time.sleep(0.05)
    assert sorted(xml_asks) == sorted(ahead)


def test_reading_ahead_skips_a_guest_undefined_after_the_listing(reading_ahead):
    listing = reading_ahead.listing()
    reading_ahead.run("guest", lambda conn: conn.lookupByName("lazy-9").destroy(), read=False)
    reading_ahead.run("guest", lambda conn: conn.lookupByName("lazy-9").undefine(), read=False)
    names = [domain.name for domain in listing]
    assert "lazy-9" not in names and len(names) == GUESTS - 1
