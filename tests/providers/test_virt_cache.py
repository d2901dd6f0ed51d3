"""DomainCache: snapshots kept by XML and state, tokens against events, bounds, handles by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from providers.virt import cache as cache_module
from providers.virt.cache import DomainCache


@dataclass
class Snapshot:
    """What the cache reads of a :class:`Domain` (passed as ``Any`` where a Domain is due)."""

    uuid: str
    name: str


def stored(cache: DomainCache, name: str, uuid: str | None = None, *, xml: str = "<domain/>",
           evict: bool = True) -> Snapshot:
    snapshot = Snapshot(uuid or f"uuid-{name}", name)
    handle = f"handle of {name}"
    fake: Any = snapshot
    cache.store(cache.token(snapshot.uuid), handle, 1, xml, fake, evict=evict)
    return snapshot


def test_a_snapshot_is_handed_out_only_for_its_xml_and_state():
    cache = DomainCache()
    snapshot = stored(cache, "web", xml="<domain>a</domain>")
    assert cache.get("uuid-web", 1, "<domain>a</domain>") is snapshot
    assert cache.get("uuid-web", 3, "<domain>a</domain>") is None
    assert cache.get("uuid-web", 1, "<domain>b</domain>") is None


def test_an_event_while_a_snapshot_is_made_keeps_it_out():
    cache = DomainCache()
    token = cache.token("uuid-web")
    cache.invalidate("uuid-web")
    fake: Any = Snapshot("uuid-web", "web")
    cache.store(token, "handle", 1, "<domain/>", fake, evict=True)
    assert "uuid-web" not in cache


def test_a_new_connection_keeps_every_snapshot_being_made_out():
    cache = DomainCache()
    token = cache.token("uuid-web")
    cache.clear()
    fake: Any = Snapshot("uuid-web", "web")
    cache.store(token, "handle", 1, "<domain/>", fake, evict=True)
    assert len(cache) == 0


def test_handles_are_found_by_name_and_uuid_while_cached():
    cache = DomainCache()
    stored(cache, "web")
    assert cache.handle(name="web") == cache.handle(uuid="uuid-web") == "handle of web"
    assert cache.handle(name="db") is None
    cache.invalidate("uuid-web")
    assert cache.handle(name="web") is None
    assert cache.handle(uuid="uuid-web") is None


def test_a_renamed_snapshot_is_found_by_its_new_name_only():
    cache = DomainCache()
    stored(cache, "before", "uuid-1")
    stored(cache, "after", "uuid-1")
    assert cache.handle(name="before") is None
    assert cache.handle(name="after") == "handle of after"


@pytest.mark.parametrize("evict", [True, False])
def test_a_full_cache_evicts_the_least_recently_used_only_for_lookups(monkeypatch, evict):
    monkeypatch.setattr(cache_module, "CACHE_CAPACITY", 2)
    cache = DomainCache()
    stored(cache, "a")
    stored(cache, "b")
    cache.get("uuid-a", 1, "<domain/>")  # "b" is now the least recently used
    stored(cache, "c", evict=evict)
    assert len(cache) == 2
    assert ("uuid-c" in cache, "uuid-b" in cache) == (evict, not evict)
    assert (cache.handle(name="b") is None) == evict
    assert "uuid-a" in cache
