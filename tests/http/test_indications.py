"""Indications end to end: pywbem subscribes, libvirt changes guests, a WBEMListener receives."""

from __future__ import annotations

import queue
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
import pywbem

from tests.http.indication_listener import (
    CS_INDICATIONS,
    SETTING_INDICATIONS,
    WITHIN,
    Listener,
    subscribe,
)
from tests.http.servers import CLIENT_ENV, RunningServer, _tool, pywbemcli, running_server
from virtcim.http.tls import make_self_signed

#: This module's listener ports.
PORTS = iter([*range(27450, 27466), *range(27470, 27486)])
GUEST_WITH_DISK_XML = ("<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>"
                       "<memory>131072</memory>"
                       "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
                       "<source file='/var/lib/libvirt/images/{name}.img'/>"
                       "<target dev='vda' bus='virtio'/></disk></devices></domain>")
GUEST_XML = ("<domain type='test'><name>{name}</name><memory>65536</memory>"
             "<os><type>hvm</type></os></domain>")


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener(next(PORTS)).start()
    yield found
    found.stop()


@pytest.fixture
def manager(server: RunningServer) -> Iterator[tuple[pywbem.WBEMSubscriptionManager, str]]:
    sm = pywbem.WBEMSubscriptionManager("virtcimtest")
    server_id = sm.add_server(pywbem.WBEMServer(server.connection("interop")))
    yield sm, server_id
    sm.remove_server(server_id)


@pytest.fixture
def guests(libvirt_conn: libvirt.virConnect) -> Iterator[list[str]]:
    """Names of test-driver guests the test makes; whatever is left is removed."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            dom = libvirt_conn.lookupByName(name)
        except libvirt.libvirtError:
            continue
        if dom.isActive():
            dom.destroy()
        if dom.isPersistent():
            dom.undefine()


def test_pywbem_subscriptions_are_served_and_linked(server, manager, listener):
    sm, server_id = manager
    found = subscribe(sm, server_id, listener)
    conn = server.connection("interop")
    [destination] = conn.EnumerateInstances("CIM_ListenerDestination")
    assert destination.classname == "CIM_ListenerDestinationCIMXML"
    assert destination["Destination"] == listener.url
    assert destination["PersistenceType"] == 3  # pywbem's owned destinations are transient
    assert conn.GetInstance(found.path)["Query"] == CS_INDICATIONS
    [subscription] = conn.EnumerateInstances("CIM_IndicationSubscription")
    assert subscription["SubscriptionState"] == 2
    assert subscription["OnFatalErrorPolicy"] == 2
    assert conn.GetInstance(subscription.path)["Filter"].keybindings["Name"] == found["Name"]
    [far] = conn.AssociatorNames(found.path, AssocClass="CIM_IndicationSubscription")
    assert far.keybindings["Name"] == destination["Name"]
    [link] = conn.ReferenceNames(destination.path, Role="Handler")
    assert link.keybindings["Filter"].keybindings["Name"] == found["Name"]
    [service] = conn.EnumerateInstances("CIM_IndicationService")
    assert service["DeliveryRetryAttempts"] == 3
    [capabilities] = conn.Associators(service.path, AssocClass="CIM_ElementCapabilities")
    assert capabilities["SubscriptionsPersisted"] is True
    profiles = [p["RegisteredName"] for p in conn.EnumerateInstances("CIM_RegisteredProfile")]
    assert "Indications" in profiles
    assert sm.get_owned_subscriptions(server_id)
    sm.remove_subscriptions(server_id, [subscription.path])
    sm.remove_filter(server_id, found.path)
    sm.remove_destinations(server_id, [destination.path])
    assert conn.EnumerateInstances("CIM_IndicationSubscription") == []
    assert conn.EnumerateInstances("CIM_IndicationFilter") == []


def test_a_guest_s_life_reaches_the_listener_in_order(server, manager, listener, guests,
                                                      libvirt_conn):
    sm, server_id = manager
    found = subscribe(sm, server_id, listener)
    guests.append("ind-life")
    dom = libvirt_conn.defineXML(GUEST_XML.format(name="ind-life"))
    created = listener.next()
    dom.create()
    started = listener.next()
    dom.destroy()
    stopped = listener.next()
    dom.undefine()
    deleted = listener.next()
    assert [i.classname for i in (created, started, stopped, deleted)] == [
        "Test_ComputerSystemCreatedIndication", "Test_ComputerSystemModifiedIndication",
        "Test_ComputerSystemModifiedIndication", "Test_ComputerSystemDeletedIndication"]
    assert created["SourceInstance"]["Name"] == "ind-life"
    assert created["SourceInstance"]["EnabledState"] == 3
    assert started["PreviousInstance"]["EnabledState"] == 3
    assert started["SourceInstance"]["EnabledState"] == 2
    assert stopped["PreviousInstance"]["EnabledState"] == 2
    assert deleted["SourceInstance"]["EnabledState"] == 1
    assert deleted["SourceInstance"]["OtherEnabledState"] == "Guest destroyed"
    assert {i["IndicationFilterName"] for i in (created, started, deleted)} == {found["Name"]}
    first = created["SequenceNumber"]
    assert [i["SequenceNumber"] for i in (created, started, stopped, deleted)] == [
        first, first + 1, first + 2, first + 3]
    assert len({i["SequenceContext"] for i in (created, started, stopped, deleted)}) == 1
    assert listener.nothing_more()


def test_a_guest_saved_and_resumed_is_announced_offline_then_enabled(server, manager, listener,
                                                                    guests, libvirt_conn):
    sm, server_id = manager
    guests.append("ind-saved")
    dom = libvirt_conn.defineXML(GUEST_XML.format(name="ind-saved"))
    dom.create()
    subscribe(sm, server_id, listener)
    dom.managedSave(0)
    saved = listener.next()
    dom.create()
    resumed = listener.next()
    assert saved.classname == resumed.classname == "Test_ComputerSystemModifiedIndication"
    assert (saved["PreviousInstance"]["EnabledState"], saved["SourceInstance"]["EnabledState"]) == (
        2, 6)
    assert resumed["PreviousInstance"]["EnabledState"] == 6
    assert resumed["SourceInstance"]["EnabledState"] == 2


def test_filters_select_by_class_and_by_source_properties(server, manager, listener, guests,
                                                          libvirt_conn):
    sm, server_id = manager
    subscribe(sm, server_id, listener,
              "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ComputerSystem "
              "AND SourceInstance.EnabledState = 2", "DMTF:CQL")
    guests.append("ind-filter")
    dom = libvirt_conn.defineXML(GUEST_XML.format(name="ind-filter"))
    dom.create()
    dom.destroy()
    dom.undefine()
    started = listener.next()
    assert started.classname == "Test_ComputerSystemModifiedIndication"
    assert started["SourceInstance"]["EnabledState"] == 2
    assert listener.nothing_more()




def test_settings_changed_with_libvirt_are_announced_as_created_modified_deleted(
        server, manager, listener, guests, libvirt_conn):
    sm, server_id = manager
    subscribe(sm, server_id, listener, SETTING_INDICATIONS)
    guests.append("ind-rasd")
    created, modified, deleted = (f"Test_ResourceAllocationSettingData{what}Indication"
                                  for what in ("Created", "Modified", "Deleted"))
    dom = libvirt_conn.defineXML(GUEST_XML.format(name="ind-rasd"))
    first = listener.next()
    assert first["SourceInstance"].classname in ("Test_MemResourceAllocationSettingData",
                                                 "Test_ProcResourceAllocationSettingData")
    assert first["SourceInstanceHost"]
    rest = [(i.classname, i["SourceInstance"]["InstanceID"]) for i in [listener.next()]]
    assert sorted([(first.classname, first["SourceInstance"]["InstanceID"]), *rest]) == [
        (created, "ind-rasd/mem"), (created, "ind-rasd/proc")]
    assert listener.nothing_more()

    libvirt_conn.defineXML(GUEST_WITH_DISK_XML.format(name="ind-rasd", uuid=dom.UUIDString()))
    changes = [listener.next(), listener.next()]
    assert sorted((i.classname, i["SourceInstance"]["InstanceID"]) for i in changes) == [
        (created, "ind-rasd/vda"), (modified, "ind-rasd/mem")]
    [memory] = [i for i in changes if i.classname == modified]
    assert memory["PreviousInstance"]["VirtualQuantity"] == 65536
    assert memory["SourceInstance"]["VirtualQuantity"] == 131072
    assert listener.nothing_more()

    dom.undefine()
    gone = [listener.next() for _ in range(3)]
    assert sorted((i.classname, i["SourceInstance"]["InstanceID"]) for i in gone) == [
        (deleted, "ind-rasd/mem"), (deleted, "ind-rasd/proc"), (deleted, "ind-rasd/vda")]
    assert listener.nothing_more()


def test_settings_changed_through_cim_reach_libvirt_cim_s_class_filters(
        server, manager, listener, guests, libvirt_conn):
    sm, server_id = manager
    destination = sm.add_destination(server_id, listener.url, destination_id="rasd-classes")
    for what in ("Created", "Modified", "Deleted"):
        found = sm.add_filter(
            server_id, ["root/virt"],
            f"SELECT * FROM Test_ResourceAllocationSettingData{what}Indication",
            filter_id=f"rasd-{what}")
        sm.add_subscriptions(server_id, found.path, [destination.path])
    guests.append("ind-rasd-cim")
    libvirt_conn.defineXML(GUEST_XML.format(name="ind-rasd-cim"))
    assert len([listener.next(), listener.next()]) == 2
    conn = server.connection("root/virt")
    [vsms] = conn.EnumerateInstanceNames("Test_VirtualSystemManagementService")
    configuration = pywbem.CIMInstanceName(
        "Test_VirtualSystemSettingData", {"InstanceID": "Test:ind-rasd-cim"}, namespace="root/virt")
    disk = pywbem.CIMInstance("Test_DiskResourceAllocationSettingData", properties={
        "VirtualDevice": "vdb", "Address": "/var/lib/libvirt/images/ind-rasd-cim.img"})
    rv, out = conn.InvokeMethod("AddResourceSettings", vsms, AffectedConfiguration=configuration,
                                ResourceSettings=[disk])
    assert rv == 0
    added = listener.next()
    assert added.classname == "Test_ResourceAllocationSettingDataCreatedIndication"
    assert added["SourceInstance"]["InstanceID"] == "ind-rasd-cim/vdb"
    assert added["SourceInstance"]["Address"] == "/var/lib/libvirt/images/ind-rasd-cim.img"
    assert added["IndicationFilterName"].endswith(":rasd-Created")

    memory = pywbem.CIMInstance("Test_MemResourceAllocationSettingData", properties={
        "InstanceID": "ind-rasd-cim/mem", "VirtualQuantity": pywbem.Uint64(128),
        "AllocationUnits": "byte*2^20"})
    rv, _ = conn.InvokeMethod("ModifyResourceSettings", vsms, ResourceSettings=[memory])
    assert rv == 0
    changed = listener.next()
    assert changed.classname == "Test_ResourceAllocationSettingDataModifiedIndication"
    assert changed["SourceInstance"]["VirtualQuantity"] == 131072
    assert changed["PreviousInstance"]["VirtualQuantity"] == 65536

    rv, _ = conn.InvokeMethod("RemoveResourceSettings", vsms,
                              ResourceSettings=[out["ResultingResourceSettings"][0]])
    assert rv == 0
    removed = listener.next()
    assert removed.classname == "Test_ResourceAllocationSettingDataDeletedIndication"
    assert removed["SourceInstance"]["InstanceID"] == "ind-rasd-cim/vdb"
    assert listener.nothing_more()


def _filter(server: RunningServer, **values) -> pywbem.CIMInstance:
    inst = pywbem.CIMInstance("CIM_IndicationFilter")
    for name, value in values.items():
        inst[name] = value
    return inst


@pytest.mark.parametrize(("values", "code"), [
    ({"Query": "SELECT * FROM", "QueryLanguage": "WQL"}, pywbem.CIM_ERR_INVALID_QUERY),
    ({"Query": "SELECT * FROM CIM_ComputerSystem", "QueryLanguage": "WQL"},
     pywbem.CIM_ERR_INVALID_QUERY),
    ({"Query": "SELECT * FROM CIM_NoSuchClass", "QueryLanguage": "DMTF:CQL"},
     pywbem.CIM_ERR_INVALID_QUERY),
    ({"Query": "SELECT * FROM CIM_InstCreation", "QueryLanguage": "XPath"},
     pywbem.CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED),
    ({"Query": "SELECT * FROM CIM_InstCreation"}, pywbem.CIM_ERR_INVALID_PARAMETER),
    ({"Query": "SELECT * FROM CIM_InstCreation", "QueryLanguage": "WQL",
      "SourceNamespaces": ["root/nowhere"]}, pywbem.CIM_ERR_INVALID_PARAMETER),
])
def test_a_bad_filter_is_refused_and_not_stored(server, values, code):
    conn = server.connection("interop")
    with pytest.raises(pywbem.CIMError) as failure:
        conn.CreateInstance(_filter(server, Name="bad", **values))
    assert failure.value.status_code == code
    assert conn.EnumerateInstances("CIM_IndicationFilter") == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:21/", "127.0.0.1:5990", "http://:80/",
                                 "http://user@127.0.0.1:5990/", "http://127.0.0.1:99999/"])
def test_a_bad_destination_is_refused_and_not_stored(server, url):
    conn = server.connection("interop")
    inst = pywbem.CIMInstance("CIM_ListenerDestinationCIMXML",
                              properties={"Name": "bad", "Destination": url})
    with pytest.raises(pywbem.CIMError) as failure:
        conn.CreateInstance(inst)
    assert failure.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER
    assert conn.EnumerateInstances("CIM_ListenerDestination") == []


def test_a_subscription_needs_its_ends_and_is_made_once(server, manager, listener):
    sm, server_id = manager
    destination = sm.add_destination(server_id, listener.url, destination_id="once")
    found = sm.add_filter(server_id, ["root/virt"], CS_INDICATIONS, filter_id="once")
    conn = server.connection("interop")
    missing = found.path.copy()
    missing.keybindings["Name"] = "no such filter"
    sub = pywbem.CIMInstance("CIM_IndicationSubscription",
                             properties={"Filter": missing, "Handler": destination.path})
    with pytest.raises(pywbem.CIMError) as failure:
        conn.CreateInstance(sub)
    assert failure.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER
    sub["Filter"] = found.path
    conn.CreateInstance(sub)
    with pytest.raises(pywbem.CIMError) as failure:
        conn.CreateInstance(sub)
    assert failure.value.status_code == pywbem.CIM_ERR_ALREADY_EXISTS
    assert len(conn.EnumerateInstances("CIM_IndicationSubscription")) == 1
    with pytest.raises(pywbem.CIMError) as failure:
        conn.DeleteInstance(found.path)
    assert failure.value.status_code == pywbem.CIM_ERR_FAILED
    [made] = conn.EnumerateInstanceNames("CIM_IndicationSubscription")
    conn.DeleteInstance(made)
    sm.remove_filter(server_id, found.path)
    sm.remove_destinations(server_id, [destination.path])


def test_a_subscription_can_be_disabled(server, manager, listener, guests, libvirt_conn):
    sm, server_id = manager
    subscribe(sm, server_id, listener)
    conn = server.connection("interop")
    [sub] = conn.EnumerateInstances("CIM_IndicationSubscription")
    sub["SubscriptionState"] = pywbem.Uint16(4)
    conn.ModifyInstance(sub, PropertyList=["SubscriptionState"])
    assert conn.GetInstance(sub.path)["SubscriptionState"] == 4
    guests.append("ind-disabled")
    libvirt_conn.defineXML(GUEST_XML.format(name="ind-disabled")).undefine()
    assert listener.nothing_more()
    sub["SubscriptionState"] = pywbem.Uint16(7)
    with pytest.raises(pywbem.CIMError) as failure:
        conn.ModifyInstance(sub, PropertyList=["SubscriptionState"])
    assert failure.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER


def _subscribe_directly(conn: pywbem.WBEMConnection, name: str, url: str, persistence: int = 3,
                        **values: object) -> tuple[pywbem.CIMInstanceName, ...]:
    """A destination, a filter of guests' indications and their subscription (with
    ``values``), all named ``name``, made with CreateInstance: their paths."""
    destination = conn.CreateInstance(pywbem.CIMInstance(
        "CIM_ListenerDestinationCIMXML",
        properties={"Name": name, "Destination": url,
                    "PersistenceType": pywbem.Uint16(persistence)}))
    found = conn.CreateInstance(pywbem.CIMInstance(
        "CIM_IndicationFilter", properties={"Name": name, "Query": CS_INDICATIONS,
                                            "QueryLanguage": "WQL"}))
    sub = conn.CreateInstance(pywbem.CIMInstance(
        "CIM_IndicationSubscription",
        properties={"Filter": found, "Handler": destination, **values}))
    return destination, found, sub


def test_a_subscription_ends_after_its_duration(server, listener):
    conn = server.connection("interop")
    destination, found, sub = _subscribe_directly(conn, "brief", listener.url,
                                                  SubscriptionDuration=pywbem.Uint64(60))
    assert 59 <= conn.GetInstance(sub)["SubscriptionTimeRemaining"] <= 60
    shortened = conn.GetInstance(sub)
    shortened["SubscriptionDuration"] = pywbem.Uint64(1)
    conn.ModifyInstance(shortened, PropertyList=["SubscriptionDuration"])
    assert conn.GetInstance(sub)["SubscriptionTimeRemaining"] <= 1
    deadline = time.monotonic() + 3
    while conn.EnumerateInstanceNames("CIM_IndicationSubscription") and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert conn.EnumerateInstanceNames("CIM_IndicationSubscription") == []
    conn.DeleteInstance(found)
    conn.DeleteInstance(destination)


def test_libvirt_cim_s_clients_subscribe_with_an_indication_handler(server, listener, guests,
                                                                      libvirt_conn):
    """cimtest creates the deprecated CIM_IndicationHandlerCIMXML and writes each key value
    of its references on a line of its own."""
    conn = server.connection("root/PG_InterOp")
    handler = conn.CreateInstance(pywbem.CIMInstance(
        "CIM_IndicationHandlerCIMXML",
        properties={"Name": "TestHandler", "Destination": listener.url,
                    "CreationClassName": "CIM_IndicationHandlerCIMXML"}))
    assert handler.classname == "CIM_IndicationHandlerCIMXML"
    found = conn.CreateInstance(pywbem.CIMInstance("CIM_IndicationFilter", properties={
        "Name": "TestFilter", "QueryLanguage": "WQL",
        "Query": " SELECT * FROM Test_ComputerSystemCreatedIndication\n   "}))
    padded_filter, padded_handler = found.copy(), handler.copy()
    padded_filter.keybindings["Name"] = "\n      TestFilter\n      "
    padded_handler.keybindings["Name"] = "\n      TestHandler\n      "
    sub = conn.CreateInstance(pywbem.CIMInstance("CIM_IndicationSubscription", properties={
        "Filter": padded_filter, "Handler": padded_handler,
        "SubscriptionState": pywbem.Uint16(2)}))
    assert [d.classname for d in conn.EnumerateInstances("CIM_ListenerDestination")] == [
        "CIM_IndicationHandlerCIMXML"]
    assert conn.EnumerateInstances("CIM_ListenerDestinationCIMXML") == []
    guests.append("ind-handler")
    libvirt_conn.defineXML(GUEST_XML.format(name="ind-handler"))
    assert listener.next().classname == "Test_ComputerSystemCreatedIndication"
    conn.DeleteInstance(sub)
    conn.DeleteInstance(found)
    conn.DeleteInstance(handler)
    assert conn.EnumerateInstances("CIM_ListenerDestination") == []


def test_permanent_subscriptions_outlive_a_restart_and_transient_ones_do_not(
        tmp_path: Path, listener: Listener, libvirt_conn, guests):
    with running_server(tmp_path) as first:
        conn = first.connection("interop")
        _subscribe_directly(conn, "kept", listener.url, 2)
        _subscribe_directly(conn, "dropped", "http://127.0.0.1:1/", 3)
        assert len(conn.EnumerateInstances("CIM_IndicationSubscription")) == 2
    with running_server(tmp_path) as second:
        conn = second.connection("interop")
        [kept] = conn.EnumerateInstances("CIM_IndicationSubscription")
        assert kept["Handler"].keybindings["Name"] == "kept"
        assert [d["Name"] for d in conn.EnumerateInstances("CIM_ListenerDestination")] == ["kept"]
        assert sorted(f["Name"] for f in conn.EnumerateInstances("CIM_IndicationFilter")) == [
            "dropped", "kept"]
        guests.append("ind-restart")
        libvirt_conn.defineXML(GUEST_XML.format(name="ind-restart"))
        created = listener.next()
        assert created.classname == "Test_ComputerSystemCreatedIndication"
        assert created["SequenceNumber"] == 0
        assert created["IndicationFilterName"] == "kept"


@pytest.fixture
def https_listener(tmp_path: Path) -> Iterator[tuple[str, Path, queue.Queue]]:
    """A WBEMListener on HTTPS only, with a self-signed certificate for 127.0.0.1."""
    cert, key = make_self_signed(tmp_path / "listener", host="127.0.0.1")
    port = next(PORTS)
    received: queue.Queue[pywbem.CIMInstance] = queue.Queue()
    listener = pywbem.WBEMListener("127.0.0.1", https_port=port, certfile=str(cert),
                                   keyfile=str(key))
    listener.add_callback(lambda indication, host: received.put(indication))
    listener.start()
    yield f"https://127.0.0.1:{port}", cert, received
    listener.stop()


def test_an_https_listener_whose_certificate_chains_to_the_listener_ca_receives(
        tmp_path: Path, https_listener, guests, libvirt_conn):
    url, cert, received = https_listener
    with running_server(tmp_path / "server", listener_ca=cert) as trusting:
        _subscribe_directly(trusting.connection("interop"), "tls", url)
        guests.append("ind-tls")
        libvirt_conn.defineXML(GUEST_XML.format(name="ind-tls"))
        created = received.get(timeout=WITHIN)
    assert created.classname == "Test_ComputerSystemCreatedIndication"
    assert created["SourceInstance"]["Name"] == "ind-tls"


def test_an_https_listener_that_cannot_prove_who_it_is_receives_nothing(
        server, https_listener, guests, libvirt_conn, caplog):
    url, _, received = https_listener
    conn = server.connection("interop")
    [service] = conn.EnumerateInstances("CIM_IndicationService")
    service["DeliveryRetryAttempts"] = pywbem.Uint16(0)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryAttempts"])
    caplog.set_level("WARNING", logger="virtcim.indications.export")
    try:
        _subscribe_directly(conn, "untrusted", url)
        guests.append("ind-untrusted")
        libvirt_conn.defineXML(GUEST_XML.format(name="ind-untrusted"))
        deadline = time.monotonic() + 5
        while "no retry left" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
        assert received.empty()
    finally:
        for path in conn.EnumerateInstanceNames("CIM_IndicationSubscription"):
            conn.DeleteInstance(path)
        service["DeliveryRetryAttempts"] = pywbem.Uint16(3)
        conn.ModifyInstance(service, PropertyList=["DeliveryRetryAttempts"])


def test_delivery_is_retried_until_the_listener_comes_back(server, manager, guests,
                                                           libvirt_conn, caplog):
    sm, server_id = manager
    conn = server.connection("interop")
    [service] = conn.EnumerateInstances("CIM_IndicationService")
    service["DeliveryRetryInterval"] = pywbem.Uint32(1)
    service["DeliveryRetryAttempts"] = pywbem.Uint16(4)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryInterval", "DeliveryRetryAttempts"])
    late = Listener(next(PORTS))
    subscribe(sm, server_id, late)
    guests.append("ind-late")
    caplog.set_level("WARNING", logger="virtcim.indications.export")
    libvirt_conn.defineXML(GUEST_XML.format(name="ind-late"))
    deadline = time.monotonic() + 5
    while "retry 1 of 4" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "retry 1 of 4" in caplog.text
    started = time.monotonic()
    assert conn.EnumerateInstances("CIM_IndicationService")  # requests are still served
    assert time.monotonic() - started < 1
    late.start()
    try:
        created = late.next(timeout=8)
        assert created.classname == "Test_ComputerSystemCreatedIndication"
        assert created["SequenceNumber"] == 0
    finally:
        late.stop()
    service["DeliveryRetryInterval"] = pywbem.Uint32(30)
    service["DeliveryRetryAttempts"] = pywbem.Uint16(3)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryInterval", "DeliveryRetryAttempts"])


def test_a_failed_delivery_disables_a_subscription_that_asks_for_it(server, guests,
                                                                     libvirt_conn):
    conn = server.connection("interop")
    [service] = conn.EnumerateInstances("CIM_IndicationService")
    service["DeliveryRetryAttempts"] = pywbem.Uint16(0)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryAttempts"])
    destination, found, sub = _subscribe_directly(
        conn, "dead", f"http://127.0.0.1:{next(PORTS)}", OnFatalErrorPolicy=pywbem.Uint16(3))
    guests.append("ind-dead")
    libvirt_conn.defineXML(GUEST_XML.format(name="ind-dead"))
    deadline = time.monotonic() + 5
    while conn.GetInstance(sub)["SubscriptionState"] != 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert conn.GetInstance(sub)["SubscriptionState"] == 4
    conn.DeleteInstance(sub)
    conn.DeleteInstance(found)
    conn.DeleteInstance(destination)
    service["DeliveryRetryAttempts"] = pywbem.Uint16(3)
    conn.ModifyInstance(service, PropertyList=["DeliveryRetryAttempts"])


def test_a_burst_of_200_guests_gives_every_indication_in_order_once(server, manager, listener,
                                                                     guests, libvirt_conn):
    sm, server_id = manager
    subscribe(sm, server_id, listener)
    names = [f"ind-burst-{i:03}" for i in range(200)]
    guests.extend(names)
    for name in names:
        dom = libvirt_conn.defineXML(GUEST_XML.format(name=name))
        dom.create()
        dom.destroy()
        dom.undefine()
    received = [listener.next(timeout=10) for _ in range(4 * len(names))]
    assert listener.nothing_more()
    numbers = [i["SequenceNumber"] for i in received]
    assert numbers == list(range(numbers[0], numbers[0] + len(received)))
    by_guest: dict[str, list[tuple[str, int]]] = {}
    for indication in received:
        source = indication["SourceInstance"]
        by_guest.setdefault(source["Name"], []).append(
            (indication.classname.split("_")[1], source["EnabledState"]))
    assert sorted(by_guest) == names
    expected = [("ComputerSystemCreatedIndication", 3), ("ComputerSystemModifiedIndication", 2),
                ("ComputerSystemModifiedIndication", 3), ("ComputerSystemDeletedIndication", 1)]
    assert all(seen == expected for seen in by_guest.values())


def test_pywbemcli_subscribes_and_pywbemlistener_receives(server, guests, libvirt_conn,
                                                          tmp_path: Path):
    port = next(PORTS)
    received = tmp_path / "indications.txt"
    listener = subprocess.Popen(
        [_tool("pywbemlistener"), "run", "virtcimtest", "--port", str(port), "--scheme", "http",
         "--bind-addr", "127.0.0.1", "--indi-file", str(received)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CLIENT_ENV)
    try:
        steps = [
            ("add-destination", "cli", "--listener-url", f"http://127.0.0.1:{port}"),
            ("add-filter", "cli", "--query", CS_INDICATIONS, "--query-language", "WQL",
             "--source-namespaces", "root/virt"),
            ("add-subscription", "cli", "cli"),
        ]
        for step in steps:
            done = pywbemcli(server, "--default-namespace", "interop", "subscription", *step)
            assert done.returncode == 0, done.stderr
        listed = pywbemcli(server, "subscription", "list-subscriptions", "--summary")
        assert listed.returncode == 0 and "1" in listed.stdout, listed.stderr
        guests.append("ind-cli")
        libvirt_conn.defineXML(GUEST_XML.format(name="ind-cli"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                not received.exists() or "ind-cli" not in received.read_text()):
            time.sleep(0.1)
        assert "Test_ComputerSystemCreatedIndication" in received.read_text()
        removed = pywbemcli(server, "subscription", "remove-server")
        assert removed.returncode == 0, removed.stderr
    finally:
        listener.terminate()
        listener.wait(10)
    conn = server.connection("interop")
    assert conn.EnumerateInstances("CIM_IndicationSubscription") == []


def test_networks_and_storage_pools_are_announced_as_their_pools(server, manager, listener,
                                                                  libvirt_conn, tmp_path: Path):
    sm, server_id = manager
    subscribe(sm, server_id, listener,
              "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ResourcePool")
    network = libvirt_conn.networkDefineXML(
        "<network><name>ind-net</name><bridge name='virbr-ind'/></network>")
    try:
        network.create()
        network.destroy()
    finally:
        network.undefine()
    pool = libvirt_conn.storagePoolDefineXML(
        f"<pool type='dir'><name>ind-pool</name><target><path>{tmp_path}</path></target></pool>")
    pool.undefine()
    received = [listener.next() for _ in range(6)]
    assert [(i.classname, i["SourceInstance"]["InstanceID"]) for i in received] == [
        ("CIM_InstCreation", "NetworkPool/ind-net"),
        ("CIM_InstModification", "NetworkPool/ind-net"),
        ("CIM_InstModification", "NetworkPool/ind-net"),
        ("CIM_InstDeletion", "NetworkPool/ind-net"),
        ("CIM_InstCreation", "DiskPool/ind-pool"),
        ("CIM_InstDeletion", "DiskPool/ind-pool"),
    ]
    assert received[1]["SourceInstance"].classname == "Test_NetworkPool"
    assert listener.nothing_more()


def test_a_guest_removed_while_the_first_subscription_reads_the_guests_is_left_out(
        server, manager, listener, guests, libvirt_conn, monkeypatch):
    guests.extend(["ind-stays", "ind-goes"])
    staying = libvirt_conn.defineXML(GUEST_XML.format(name="ind-stays"))
    libvirt_conn.defineXML(GUEST_XML.format(name="ind-goes"))
    is_persistent = libvirt.virDomain.isPersistent

    def removed_first(domain: libvirt.virDomain) -> int:
        """Another client removes ind-goes just before its definition is asked about."""
        if domain.name() == "ind-goes":
            libvirt_conn.lookupByName("ind-goes").undefine()
        return is_persistent(domain)

    monkeypatch.setattr(libvirt.virDomain, "isPersistent", removed_first)
    sm, server_id = manager
    subscribe(sm, server_id, listener)
    monkeypatch.undo()
    with pytest.raises(libvirt.libvirtError):
        libvirt_conn.lookupByName("ind-goes")
    deleted = listener.next()
    assert deleted.classname == "Test_ComputerSystemDeletedIndication"
    assert deleted["SourceInstance"]["Name"] == "ind-goes"
    staying.create()
    started = listener.next()
    # The guests read when the subscription was made are the starting point:
    # ind-stays was known shut off, whatever became of ind-goes.
    assert started["SourceInstance"]["Name"] == "ind-stays"
    assert started["PreviousInstance"]["EnabledState"] == 3
    assert started["SourceInstance"]["EnabledState"] == 2
