"""Roles per namespace over HTTP and HTTPS, with pywbem and pywbemcli; client certificates;
a read-only server. Every denial is CIM_ERR_ACCESS_DENIED and changes nothing in libvirt."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
import pywbem
from pywbem import CIMInstance, CIMInstanceName, Uint16

from providers.virt.connection import Hypervisor
from tests.http.servers import CLIENT_ENV, RunningServer, _tool, running_server
from virtcim.http.auth import set_password

pytestmark = [pytest.mark.http]

PASSWORDS = {"alice": "alice pw", "bob": "bob pw", "carol": "carol pw"}
ROLES = {"root/virt": {"full": ["alice"], "read-only": ["bob"]},
         "root/interop": {"read-only": ["*"]}}
GUEST = CIMInstanceName("Test_ComputerSystem", {"CreationClassName": "Test_ComputerSystem",
                                                "Name": "test"}, namespace="root/virt")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def client_certificate(folder: Path, user: str, ca: str = "ca") -> tuple[str, str]:
    """A key and a certificate for ``user`` signed by ``ca`` in ``folder`` (made if missing)."""
    ca_cert, ca_key = folder / f"{ca}.pem", folder / f"{ca}.key"
    if not ca_cert.exists():
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "1", "-subj", f"/CN={ca}", "-keyout", str(ca_key),
                "-out", str(ca_cert))
    key, request, cert = (folder / f"{user}-{ca}.{ext}" for ext in ("key", "csr", "pem"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", f"/CN={user}", "-keyout", str(key), "-out", str(request))
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "1", "-out", str(cert))
    return str(cert), str(key)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("client-certs")
    client_certificate(folder, "alice")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, certificates) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("roles")
    with running_server(tmp, auth=True, https=True, roles=ROLES,
                        client_ca=certificates / "ca.pem") as running:
        for user, password in PASSWORDS.items():
            set_password(tmp / "users", user, password)
        yield running


def connect(server: RunningServer, user: str | None, https: bool = False,
            namespace: str = "root/virt", **kwargs) -> pywbem.WBEMConnection:
    url = server.https_url if https else server.http_url
    creds = (user, PASSWORDS[user]) if user else None
    return pywbem.WBEMConnection(url, creds, default_namespace=namespace, no_verification=True,
                                 timeout=30, **kwargs)


def denied(call) -> str:
    with pytest.raises(pywbem.CIMError) as raised:
        call()
    assert raised.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
    return raised.value.status_description


def libvirt_state(conn: libvirt.virConnect) -> dict[str, tuple[int, str]]:
    return {dom.name(): (dom.state()[0], dom.XMLDesc()) for dom in conn.listAllDomains()}


def writes(conn: pywbem.WBEMConnection) -> dict[str, object]:
    """A call of each kind of change, all aimed at real objects."""
    guest = conn.GetInstance(GUEST)
    service = conn.EnumerateInstanceNames("Test_VirtualSystemManagementService")[0]
    return {
        "InvokeMethod": lambda: conn.InvokeMethod("RequestStateChange", GUEST,
                                                  RequestedState=Uint16(9)),
        "DestroySystem": lambda: conn.InvokeMethod("DestroySystem", service,
                                                   AffectedSystem=GUEST),
        "ModifyInstance": lambda: conn.ModifyInstance(guest, PropertyList=["ElementName"]),
        "DeleteInstance": lambda: conn.DeleteInstance(GUEST),
        "CreateInstance": lambda: conn.CreateInstance(
            CIMInstance("Test_ComputerSystem", {"Name": "new"}), namespace="root/virt"),
    }


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_a_read_only_user_reads_but_every_change_and_method_is_denied(
        server, libvirt_conn, https):
    conn = connect(server, "bob", https)
    assert "test" in {path["Name"] for path in conn.EnumerateInstanceNames("CIM_ComputerSystem")}
    before = libvirt_state(libvirt_conn)
    for name, call in writes(conn).items():
        assert "read-only" in denied(call), name
    assert libvirt_state(libvirt_conn) == before


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_a_user_without_a_role_may_not_even_read(server, https):
    conn = connect(server, "carol", https)
    assert "no role" in denied(lambda: conn.EnumerateInstanceNames("CIM_ComputerSystem"))
    assert "no role" in denied(lambda: conn.GetInstance(GUEST))
    # Her role in the interop namespace (every user may read) still holds.
    interop = connect(server, "carol", https, namespace="root/interop")
    assert len(interop.EnumerateInstanceNames("CIM_ObjectManager")) == 1


def test_a_full_user_changes_guests(server, libvirt_conn):
    conn = connect(server, "alice")
    assert conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=Uint16(9))[0] == 0
    assert libvirt_conn.lookupByName("test").state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=Uint16(2))[0] == 0
    assert libvirt_conn.lookupByName("test").state()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_a_client_certificate_logs_in_as_its_common_name(server, certificates, libvirt_conn):
    cert, key = certificates / "alice-ca.pem", certificates / "alice-ca.key"
    conn = connect(server, None, https=True, x509={"cert_file": str(cert), "key_file": str(key)})
    assert conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=Uint16(9))[0] == 0
    assert libvirt_conn.lookupByName("test").state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=Uint16(2))[0] == 0
    bob_cert, bob_key = client_certificate(certificates, "bob")
    as_bob = connect(server, None, https=True, x509={"cert_file": bob_cert, "key_file": bob_key})
    assert len(as_bob.EnumerateInstanceNames("Test_ComputerSystem")) >= 1
    denied(lambda: as_bob.InvokeMethod("RequestStateChange", GUEST, RequestedState=Uint16(9)))


def test_a_certificate_from_another_ca_is_refused(server, certificates):
    cert, key = client_certificate(certificates, "alice", ca="other-ca")
    conn = connect(server, None, https=True, x509={"cert_file": cert, "key_file": key})
    with pytest.raises(pywbem.ConnectionError):
        conn.EnumerateInstanceNames("Test_ComputerSystem")


@pytest.mark.clients
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_pywbemcli_shows_access_denied_to_a_read_only_user(server, https):
    url = server.https_url if https else server.http_url
    base = [_tool("pywbemcli"), "--server", url, "--no-verify", "--timeout", "30",
            "--default-namespace", "root/virt", "--user", "bob", "--password", PASSWORDS["bob"]]
    path = 'Test_ComputerSystem.CreationClassName="Test_ComputerSystem",Name="test"'

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=120,
                              env=CLIENT_ENV, stdin=subprocess.DEVNULL)

    listed = run("instance", "enumerate", "Test_ComputerSystem", "--names-only")
    assert listed.returncode == 0 and "test" in listed.stdout, listed.stderr
    invoked = run("instance", "invokemethod", path, "RequestStateChange",
                  "--parameter", "RequestedState=9")
    assert invoked.returncode != 0
    assert "CIM_ERR_ACCESS_DENIED" in invoked.stdout + invoked.stderr


def test_a_read_only_server_denies_changes_to_every_user(tmp_path, libvirt_conn):
    with running_server(tmp_path, auth=True, read_only=True) as server:
        assert all(hypervisor.read_only for hypervisor in server.app.hypervisors)
        conn = server.connection()
        before = libvirt_state(libvirt_conn)
        for name, call in writes(conn).items():
            assert "server is read-only" in denied(call), name
        assert libvirt_state(libvirt_conn) == before


def test_a_read_only_hypervisor_is_refused_changes_by_libvirt_itself():
    hypervisor = Hypervisor("test:///default", read_only=True)
    try:
        with pytest.raises(pywbem.CIMError, match="(?i)read.only"):
            hypervisor.run("guest 'test'", lambda conn: conn.lookupByName("test").suspend(),
                           read=False, action="pause")
        assert hypervisor.run("guests", lambda conn: len(conn.listAllDomains())) >= 1
    finally:
        hypervisor.close()
