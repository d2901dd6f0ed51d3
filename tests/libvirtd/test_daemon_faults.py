"""libvirtd stopped and restarted under a bounded load of mixed requests from several clients.

The daemon is a private one (:mod:`tests.libvirtd.second_host`, in namespaces
of its own), so stopping it disturbs no other test. Every request gets a CIM
answer, those that meet the dead daemon fail with CIM_ERR_FAILED naming the
hypervisor, the server reconnects by itself, its events are registered again,
and the guest's state is what it was.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
import pywbem
from pywbem import CIMInstanceName

from tests.http.servers import RunningServer, running_server
from tests.libvirtd.second_host import SecondHost

pytestmark = [pytest.mark.http, pytest.mark.slow]

CLIENTS = 4
GUEST = "virtcim-fault-guest"


@pytest.fixture(scope="module")
def daemon(qemu_uri) -> Iterator[SecondHost]:
    host = SecondHost(Path(tempfile.mkdtemp(prefix="virtcim-fault-host-")),
                      namespace="virtcim-faults", links=("vcimflt0", "vcimflt1"),
                      addresses=("169.254.79.1", "169.254.79.2"))
    with host:
        yield host


@pytest.fixture(scope="module")
def guest(daemon, tiny_guest_xml) -> Iterator[str]:
    conn = libvirt.open(daemon.uri)
    domain = conn.defineXML(tiny_guest_xml(GUEST))
    conn.close()
    yield GUEST
    try:
        conn = libvirt.open(daemon.uri)
        conn.lookupByName(GUEST).undefine()
        conn.close()
    except libvirt.libvirtError:
        pass  # the daemon is gone with its state
    del domain


@pytest.fixture(scope="module")
def server(daemon, guest, tmp_path_factory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("faults"), uris=(daemon.uri,)) as running:
        yield running


def guest_path() -> CIMInstanceName:
    return CIMInstanceName("KVM_ComputerSystem",
                           {"CreationClassName": "KVM_ComputerSystem", "Name": GUEST},
                           namespace="root/virt")


def mixed_operations(conn: pywbem.WBEMConnection) -> list:
    return [
        lambda: conn.EnumerateInstanceNames("CIM_ComputerSystem"),
        lambda: conn.GetInstance(guest_path()),
        lambda: conn.EnumerateInstances("KVM_VirtualSystemSettingData"),
        lambda: conn.AssociatorNames(guest_path(), AssocClass="KVM_SystemDevice"),
        lambda: conn.References(guest_path(), ResultClass="KVM_VirtualSystemSettingDataComponent"),
    ]


class Load:
    """Client threads sending mixed operations until stopped, counting outcomes."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.unanswered: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(CLIENTS)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in self.threads), "a client is stuck"

    def _run(self, number: int) -> None:
        conn = self.server.connection()
        operations = mixed_operations(conn)
        for count in range(100_000):  # bounded; stopped long before
            if self.stopping.is_set():
                return
            try:
                operations[(count + number) % len(operations)]()
                outcome = "ok"
            except pywbem.CIMError as error:
                outcome = f"CIM error {error.status_code}"
                with self.lock:
                    self.failures.append(error.status_description)
            except pywbem.Error as error:  # no answer, or not a CIM one
                outcome = "unanswered"
                with self.lock:
                    self.unanswered.append(repr(error))
            with self.lock:
                self.outcomes[outcome] += 1

    def count(self) -> Counter[str]:
        with self.lock:
            return Counter(self.outcomes)


def wait_for(condition, seconds: float = 60.0, state=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out; {state()}"
        time.sleep(0.1)


def test_requests_survive_libvirtd_stopping_and_restarting(server, daemon):
    conn = server.connection()
    before = conn.GetInstance(guest_path())
    threads_before = threading.active_count()
    events: list[object] = []
    remove_listener = server.app.hypervisors[0].add_listener(events.append)
    try:
        with Load(server) as load:
            wait_for(lambda: load.count()["ok"] >= 40, state=load.count)
            daemon.stop()
            wait_for(lambda: load.count()[f"CIM error {pywbem.CIM_ERR_FAILED}"] >= 8,
                     state=lambda: (load.count(), load.unanswered[-3:]))
            daemon.start()
            answered = load.count()["ok"]
            wait_for(lambda: load.count()["ok"] >= answered + 40,
                     state=lambda: (load.count(), load.failures[-3:], load.unanswered[-3:]))
        outcomes = load.count()
        assert load.unanswered == [], load.unanswered[:5]
        assert set(outcomes) == {"ok", f"CIM error {pywbem.CIM_ERR_FAILED}"}, outcomes
        assert all(daemon.uri in text for text in load.failures), load.failures[:5]
        after = conn.GetInstance(guest_path())
        assert (after["Name"], after["EnabledState"]) == (before["Name"], before["EnabledState"])
        # The connection was opened again with its events: a change made beside the
        # server reaches its listeners.
        direct = libvirt.open(daemon.uri)
        try:
            direct.lookupByName(GUEST).setMetadata(
                libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "changed", None, None,
                libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            wait_for(lambda: len(events) > 0, 30)
        finally:
            direct.close()
    finally:
        remove_listener()
    assert threading.active_count() <= threads_before + 4


def test_a_request_to_a_hung_libvirtd_fails_once_its_keepalive_runs_out(server, daemon):
    conn = server.connection()
    conn.GetInstance(guest_path())
    patient = pywbem.WBEMConnection(conn.url, default_namespace="root/virt", timeout=120)
    with daemon.frozen():
        with pytest.raises(pywbem.CIMError) as error:
            patient.GetInstance(guest_path())  # libvirt's keepalive: 3 probes 5 s apart
        assert error.value.status_code == pywbem.CIM_ERR_FAILED
        assert daemon.uri in error.value.status_description
    wait_for(lambda: _answers(conn))
    assert conn.GetInstance(guest_path())["Name"] == GUEST


def _answers(conn: pywbem.WBEMConnection) -> bool:
    try:
        conn.GetInstance(guest_path())
    except pywbem.CIMError:
        return False
    return True
