"""Hypervisor: identity, the event-invalidated domain cache, reconnection, errors."""

import re
import threading

import libvirt
import pytest
from pywbem import (
    CIM_ERR_ACCESS_DENIED,
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
)

from providers.virt import DomainState, Hypervisor, errors
from providers.virt import connection as connection_module
from tests.providers.conftest import record_asks

SECOND_CONNECTION_URI = "test:///default"


def test_identity_of_the_test_driver(hypervisor):
    assert (hypervisor.uri, hypervisor.driver, hypervisor.prefix) == (
        "test:///default",
        "test",
        "Test",
    )
    assert hypervisor.hostname
    assert hypervisor.version() == (0, 0, 2)
    assert hypervisor.library_version() >= (1, 0, 0)
    node = hypervisor.node_info()
    assert node.cpus == 16 and node.memory_kib > 0
    assert hypervisor.capabilities().tag == "capabilities"


def test_storage_pools_and_networks(hypervisor):
    (pool,) = hypervisor.storage_pools()
    assert (pool.name, pool.is_active, pool.pool_type, pool.target_path) == (
        "default-pool", True, "dir", "/default-pool")  # fmt: skip
    assert pool.capacity > 0 and hypervisor.storage_pool("default-pool").uuid == pool.uuid
    (network,) = hypervisor.networks()
    assert (network.name, network.is_active, network.bridge, network.forward_mode) == (
        "default", True, "virbr0", "nat")  # fmt: skip
    assert hypervisor.network("default").uuid == network.uuid


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (lambda hv: hv.domain("web1"), "no guest 'web1' on test:///default: "),
        (lambda hv: hv.domain("x" * 1000), "no guest 'xxxx"),
        (lambda hv: hv.domain("a\0b"), "no guest 'a\\x00b' on test:///default"),
        (lambda hv: hv.domain("<&'\"../"), "no guest '<&"),
        (
            lambda hv: hv.domain_by_uuid("00000000-0000-0000-0000-000000000042"),
            "no guest with UUID '0000",
        ),
        (lambda hv: hv.storage_pool("nope"), "no storage pool 'nope' on test:///default"),
        (lambda hv: hv.network("nope"), "no network 'nope' on test:///default"),
    ],
)
def test_missing_objects_are_not_found_with_a_message_naming_them(hypervisor, lookup, message):
    with pytest.raises(CIMError) as raised:
        lookup(hypervisor)
    assert raised.value.status_code == CIM_ERR_NOT_FOUND
    assert message in raised.value.status_description


def test_malformed_uuid_is_an_invalid_parameter(hypervisor):
    with pytest.raises(CIMError) as raised:
        hypervisor.domain_by_uuid("not-a-uuid")
    assert raised.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "guest with UUID 'not-a-uuid' on test:///default" in raised.value.status_description


def test_unreachable_hypervisor_is_failed_naming_the_uri():
    hv = Hypervisor("test:///no/such/node.xml")
    with pytest.raises(CIMError) as raised:
        hv.domains()
    assert raised.value.status_code == CIM_ERR_FAILED
    assert raised.value.status_description.startswith(
        "hypervisor at test:///no/such/node.xml unreachable"
    )


# --- the cache -------------------------------------------------------------------------------


def test_unchanged_domains_are_served_from_the_cache(hypervisor):
    assert hypervisor.caching
    first = hypervisor.domains()
    assert [a is b for a, b in zip(first, hypervisor.domains(), strict=True)] == [True]


def test_change_through_the_raw_connection_is_seen_without_an_event(hypervisor):
    hypervisor.domains()
    hypervisor.run("guest", lambda conn: conn.lookupByName("test").setMemoryFlags(
        1000000, libvirt.VIR_DOMAIN_AFFECT_LIVE))  # fmt: skip
    (domain,) = hypervisor.domains()
    assert domain.xml.current_memory_kib == 1000000


def test_change_through_a_second_connection_invalidates_by_event(hypervisor, wait_for):
    (cached,) = hypervisor.domains()
    other = libvirt.open(SECOND_CONNECTION_URI)
    try:
        other.lookupByName("test").setMetadata(
            libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "changed elsewhere", None, None,
            libvirt.VIR_DOMAIN_AFFECT_LIVE)  # fmt: skip
        fresh = wait_for(lambda: hypervisor.domains()[0].xml.root.findtext("description"))
        assert fresh == "changed elsewhere"
        other.lookupByName("test").suspend()
        assert wait_for(lambda: hypervisor.domain("test").state is DomainState.PAUSED)
    finally:
        other.close()
    assert cached.xml.root.findtext("description") is None  # what was handed out stays as fetched


def test_own_changes_show_at_once(hypervisor):
    domain = hypervisor.domain("test")
    domain.suspend()
    assert hypervisor.domain("test").state is DomainState.PAUSED
    config = domain.config()
    config.set_vcpus(1)
    domain.redefine(config)
    assert hypervisor.domain("test").config().vcpus == 1


def _count_lookups(monkeypatch):
    looked_up: list[str] = []
    for method in ("lookupByName", "lookupByUUIDString"):
        original = getattr(libvirt.virConnect, method)

        def counting(conn, key, _original=original):
            looked_up.append(key)
            return _original(conn, key)

        monkeypatch.setattr(libvirt.virConnect, method, counting)
    return looked_up


def test_a_cached_guest_is_asked_through_its_handle_without_a_lookup(hypervisor, monkeypatch):
    cached = hypervisor.domain("test")
    looked_up = _count_lookups(monkeypatch)
    asked_state = record_asks(monkeypatch, "state")
    assert hypervisor.domain("test") is cached
    assert hypervisor.domain_by_uuid(cached.uuid) is cached
    assert looked_up == []
    assert asked_state == ["test", "test"]  # the state and the XML are still asked each time


def _define_copy(hypervisor, name):
    """A persistent, shut-off copy of the test guest named ``name``, with a UUID of its own."""
    xml = hypervisor.domain("test").xml.to_string().replace("<name>test</name>", f"<name>{name}</name>")
    xml = re.sub(r"<uuid>.*</uuid>", "", xml)
    return hypervisor.run("guest", lambda conn: conn.defineXML(xml).UUIDString())


def test_a_renamed_guest_is_not_served_under_its_old_name(hypervisor):
    uuid = _define_copy(hypervisor, "before")
    assert hypervisor.domain("before").uuid == uuid
    hypervisor.run("guest", lambda conn: conn.lookupByName("before").rename("after", 0))
    with pytest.raises(CIMError) as failure:
        hypervisor.domain("before")
    assert failure.value.status_code == CIM_ERR_NOT_FOUND
    assert hypervisor.domain("after").name == "after"
    assert hypervisor.domain_by_uuid(uuid).name == "after"


def test_a_guest_defined_anew_under_a_cached_name_is_the_new_one(hypervisor):
    first = _define_copy(hypervisor, "again")
    hypervisor.domain("again")
    hypervisor.run("guest", lambda conn: conn.lookupByName("again").undefine())
    second = _define_copy(hypervisor, "again")
    assert second != first
    assert hypervisor.domain("again").uuid == second
    with pytest.raises(CIMError) as failure:
        hypervisor.domain_by_uuid(first)
    assert failure.value.status_code == CIM_ERR_NOT_FOUND


def test_a_restarted_guest_shows_its_new_id(hypervisor):
    before = hypervisor.domain("test").id
    hypervisor.run("guest", lambda conn: conn.lookupByName("test").destroy())
    hypervisor.run("guest", lambda conn: conn.lookupByName("test").create())
    after = hypervisor.domain("test")
    assert after.id is not None and after.id != before
    assert after.xml.root.get("id") == str(after.id)


def test_the_host_name_is_asked_again_only_after_its_lifetime_or_a_reconnect(hypervisor, monkeypatch):
    asked = []
    original = libvirt.virConnect.getHostname

    def counting(conn):
        asked.append(conn)
        return original(conn)

    monkeypatch.setattr(libvirt.virConnect, "getHostname", counting)
    name = hypervisor.hostname
    assert hypervisor.hostname == name
    assert len(asked) == 1
    monkeypatch.setattr(connection_module, "HOSTNAME_LIFETIME", 0.0)
    assert hypervisor.hostname == name
    assert len(asked) == 2
    monkeypatch.setattr(connection_module, "HOSTNAME_LIFETIME", 3600.0)
    hypervisor.close()
    assert hypervisor.hostname == name
    assert len(asked) == 3


def test_listeners_receive_domain_pool_and_network_events(hypervisor, wait_for):
    events = []
    remove = hypervisor.add_listener(events.append)
    hypervisor.domain("test").suspend()
    hypervisor.run("pool", lambda conn: conn.storagePoolLookupByName("default-pool").destroy())
    hypervisor.run("network", lambda conn: conn.networkLookupByName("default").destroy())
    wait_for(lambda: len(events) >= 3)
    assert [(e.kind, e.name) for e in events[:3]] == [("domain", "test"), ("pool", "default-pool"),
                                                      ("network", "default")]  # fmt: skip
    assert events[0].event_id == libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
    assert events[0].detail[0] == libvirt.VIR_DOMAIN_EVENT_SUSPENDED
    remove()
    hypervisor.domain("test").resume()
    assert not wait_for_quietly(lambda: len(events) > 3)


def wait_for_quietly(condition, timeout=0.3):
    deadline = threading.Event()
    deadline.wait(timeout)
    return condition()


def test_a_failing_listener_does_not_stop_the_others(hypervisor, wait_for):
    seen = []
    hypervisor.add_listener(lambda event: 1 / 0)
    hypervisor.add_listener(seen.append)
    hypervisor.domain("test").suspend()
    assert wait_for(lambda: seen)


def test_concurrent_listings_agree(hypervisor):
    results = []
    threads = [threading.Thread(target=lambda: results.append([d.name for d in hypervisor.domains()]))
               for _ in range(8)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [["test"]] * 8


# --- reconnection ----------------------------------------------------------------------------


def test_reads_reconnect_after_the_connection_is_closed(private_hypervisor):
    private_hypervisor.domains()
    private_hypervisor.run("connection", lambda conn: conn.close())
    assert [d.name for d in private_hypervisor.domains()] == ["private"]
    assert private_hypervisor.caching


def test_changes_are_not_retried_after_the_connection_is_lost(private_hypervisor):
    private_hypervisor.run("connection", lambda conn: conn.close())
    with pytest.raises(CIMError) as raised:
        private_hypervisor.run(
            "guest 'private'", lambda conn: conn.lookupByName("private").suspend(), read=False
        )
    assert raised.value.status_code == CIM_ERR_FAILED
    assert raised.value.status_description.startswith(
        f"hypervisor at {private_hypervisor.uri} unreachable"
    )
    assert private_hypervisor.domain("private").state is DomainState.RUNNING


def test_close_callback_makes_the_next_call_reconnect(hypervisor):
    hypervisor.domains()
    old = hypervisor.run("connection", lambda conn: conn)
    hypervisor._on_connection_closed(old, libvirt.VIR_CONNECT_CLOSE_REASON_EOF, None)
    assert hypervisor.run("connection", lambda conn: conn) is not old
    assert [d.name for d in hypervisor.domains()] == ["test"]


def test_domains_fetched_before_a_reconnect_still_work(hypervisor):
    domain = hypervisor.domain("test")
    hypervisor.close()
    domain.suspend()
    assert hypervisor.domain("test").state is DomainState.PAUSED


# --- error translation -----------------------------------------------------------------------


def libvirt_error(code, text="libvirt says no"):
    error = libvirt.libvirtError(text)
    error.err = (code, libvirt.VIR_FROM_NONE, text, libvirt.VIR_ERR_ERROR, None, None, None, 0, 0)
    return error


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (libvirt.VIR_ERR_NO_DOMAIN, CIM_ERR_NOT_FOUND),
        (libvirt.VIR_ERR_NO_STORAGE_POOL, CIM_ERR_NOT_FOUND),
        (libvirt.VIR_ERR_NO_STORAGE_VOL, CIM_ERR_NOT_FOUND),
        (libvirt.VIR_ERR_NO_NETWORK, CIM_ERR_NOT_FOUND),
        (libvirt.VIR_ERR_OPERATION_INVALID, CIM_ERR_FAILED),
        (libvirt.VIR_ERR_INTERNAL_ERROR, CIM_ERR_FAILED),
        (libvirt.VIR_ERR_INVALID_ARG, CIM_ERR_INVALID_PARAMETER),
        (libvirt.VIR_ERR_XML_ERROR, CIM_ERR_INVALID_PARAMETER),
        (libvirt.VIR_ERR_CONFIG_UNSUPPORTED, CIM_ERR_INVALID_PARAMETER),
        (libvirt.VIR_ERR_NO_SUPPORT, CIM_ERR_NOT_SUPPORTED),
        (libvirt.VIR_ERR_OPERATION_UNSUPPORTED, CIM_ERR_NOT_SUPPORTED),
        (libvirt.VIR_ERR_DOM_EXIST, CIM_ERR_ALREADY_EXISTS),
        (libvirt.VIR_ERR_ACCESS_DENIED, CIM_ERR_ACCESS_DENIED),
    ],
)
def test_libvirt_error_codes_map_to_cim_status(code, status):
    with pytest.raises(CIMError) as raised, errors.translate("guest 'web1'", "qemu:///system"):
        raise libvirt_error(code)
    assert raised.value.status_code == status
    assert "guest 'web1' on qemu:///system: libvirt says no" in raised.value.status_description


def test_not_found_message_names_object_uri_and_libvirt_text():
    error = errors.cim_error(libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, "Domain not found"),
                             "guest 'web1'", "qemu:///system", action="start")  # fmt: skip
    assert error.status_description == "no guest 'web1' on qemu:///system: Domain not found"


def test_a_missing_network_met_while_starting_a_guest_is_a_failure_not_a_missing_guest():
    error = errors.cim_error(
        libvirt_error(libvirt.VIR_ERR_NO_NETWORK, "Network not found: no network 'x'"),
        "guest 'web1'", "qemu:///system", action="start")
    assert error.status_code == CIM_ERR_FAILED
    assert error.status_description == (
        "cannot start guest 'web1' on qemu:///system: Network not found: no network 'x'")


def test_a_missing_pool_met_while_acting_on_it_is_not_found():
    error = errors.cim_error(libvirt_error(libvirt.VIR_ERR_NO_STORAGE_POOL, "Pool not found"),
                             "storage pool 'p'", "qemu:///system", action="delete")
    assert error.status_code == CIM_ERR_NOT_FOUND


def test_failed_message_says_what_was_attempted():
    error = errors.cim_error(libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running"),
                             "guest 'web1'", "qemu:///system", action="pause")  # fmt: skip
    assert (
        error.status_description
        == "cannot pause guest 'web1' on qemu:///system: domain is not running"
    )


@pytest.mark.parametrize(
    "code", [libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_RPC]
)
def test_connection_errors_say_the_hypervisor_is_unreachable(code):
    error = errors.cim_error(
        libvirt_error(code, "End of file"), "guest 'web1'", "qemu+ssh://h/system"
    )
    assert error.status_code == CIM_ERR_FAILED
    assert error.status_description == "hypervisor at qemu+ssh://h/system unreachable: End of file"


def test_without_a_uri_libvirts_default_is_used_and_named(monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    hv = Hypervisor("")
    try:
        assert hv.prefix == "Test"
        assert hv.uri == "test:///default"
        assert "test" in [domain.name for domain in hv.domains()]
    finally:
        hv.close()
