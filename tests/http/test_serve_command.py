"""The ``virtcim serve`` command as DESIGN.md promises it: test driver, no daemon, no auth."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import pywbem

pytestmark = [pytest.mark.http]

VIRTCIM = Path(sys.executable).with_name("virtcim")
ROOT = Path(__file__).resolve().parents[2]
#: The code of this checkout, whatever the virtual environment's editable install points at.
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"virtcim serve did not listen on {port} within {seconds} s")


def test_serve_answers_on_the_test_driver_and_stops_on_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [str(VIRTCIM), "serve", "--uri", "test:///default", "--auth", "none",
         "--http-port", str(port), "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        wait_until_listening(port, process)
        conn = pywbem.WBEMConnection(f"http://127.0.0.1:{port}", default_namespace="root/virt")
        assert "CIM_ComputerSystem" in conn.EnumerateClassNames(DeepInheritance=True)
        guests = conn.EnumerateInstanceNames("CIM_ComputerSystem")
        assert "test" in {path["Name"] for path in guests}
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert "EnumerateInstanceNames" in log  # one line per request


#: Guests enough that enumerating their settings takes the server a while (a second or so).
MANY_GUESTS = 2000
ENUMERATE_SETTINGS = (
    b'<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
    b'<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="virt"></NAMESPACE>'
    b'</LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName">'
    b'<CLASSNAME NAME="CIM_ResourceAllocationSettingData"/></IPARAMVALUE>'
    b"</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>")


def settings_enumerated(port: int) -> int:
    """How many instances a whole EnumerateInstances of the resource settings brought."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/cimom", ENUMERATE_SETTINGS, {
        "Content-Type": "application/xml", "CIMOperation": "MethodCall",
        "CIMMethod": "EnumerateInstances", "CIMObject": "root/virt"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200 and body.rstrip().endswith(b"</CIM>")
    return body.count(b"<VALUE.NAMEDINSTANCE>")


def test_sigterm_lets_the_requests_in_progress_finish(tmp_path):
    node = tmp_path / "node.xml"
    node.write_text("<node>" + "".join(
        f"<domain type='test'><name>drain-{n}</name><memory>65536</memory>"
        f"<os><type>hvm</type></os></domain>" for n in range(MANY_GUESTS)) + "</node>")
    port = free_port()
    process = subprocess.Popen(
        [str(VIRTCIM), "serve", "--uri", f"test://{node}", "--auth", "none",
         "--http-port", str(port), "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    counts: list[int] = []
    signalled = False
    try:
        wait_until_listening(port, process)
        assert settings_enumerated(port) == 2 * MANY_GUESTS  # each guest's processor and memory
        clients = [threading.Thread(target=lambda: counts.append(settings_enumerated(port)))
                   for _ in range(2)]
        for client in clients:
            client.start()
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        signalled = True
        for client in clients:
            client.join(120)
        assert counts == [2 * MANY_GUESTS] * 2
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
    finally:
        if not signalled:
            process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=60)
    assert process.returncode == 0, log
    # Both requests were in progress when the signal came: they ended after it.
    after_signal = log[log.index("SIGTERM received"):]
    assert after_signal.count("method='EnumerateInstances'") == 2, log


def test_serve_refuses_no_authentication_on_a_public_address(tmp_path):
    result = subprocess.run(
        [str(VIRTCIM), "serve", "--uri", "test:///default", "--auth", "none",
         "--bind", "0.0.0.0", "--http-port", str(free_port()), "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 2
    assert "auth none" in result.stderr


GUEST = pywbem.CIMInstanceName("Test_ComputerSystem", {"CreationClassName": "Test_ComputerSystem",
                                                       "Name": "test"}, namespace="root/virt")
ENUMERATE = (b'<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
             b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateClassNames">'
             b'<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE><NAMESPACE NAME="virt">'
             b"</NAMESPACE></LOCALNAMESPACEPATH></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>")


def config_text(port: int, tmp_path: Path, role: str, cert: str) -> str:
    return (f'[server]\nhttp_port = {port}\nhttps_port = {port + 1}\nstate_dir = "{tmp_path}"\n'
            f'[tls]\ncert = "{tmp_path}/{cert}/server.pem"\nkey = "{tmp_path}/{cert}/server.key"\n'
            f'[auth]\nmethod = "file"\nusers = "{tmp_path}/users"\n'
            f'[libvirt]\nuris = ["test:///default"]\n[roles."*"]\n{role} = ["alice"]\n')


def test_sighup_reloads_roles_and_certificate_and_keeps_connections(tmp_path):
    from virtcim.cli import main
    from virtcim.http.auth import set_password

    set_password(tmp_path / "users", "alice", "pw")
    for name, host in (("old", "old.example"), ("new", "new.example")):
        assert main(["cert", "--out", str(tmp_path / name), "--host", host]) == 0
    port = free_port()
    config = tmp_path / "virtcim.toml"
    config.write_text(config_text(port, tmp_path, "read-only", "old"))
    process = subprocess.Popen([str(VIRTCIM), "serve", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        wait_until_listening(port, process)
        conn = pywbem.WBEMConnection(f"http://127.0.0.1:{port}", ("alice", "pw"),
                                     default_namespace="root/virt")
        with pytest.raises(pywbem.CIMError) as denied:
            conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=pywbem.Uint16(9))
        assert denied.value.status_code == pywbem.CIM_ERR_ACCESS_DENIED
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/xml", "CIMOperation": "MethodCall",
                   "CIMMethod": "EnumerateClassNames", "CIMObject": "root/virt",
                   "Authorization": "Basic YWxpY2U6cHc="}
        kept.request("POST", "/cimom", ENUMERATE, headers)
        assert kept.getresponse().read().count(b"<CLASSNAME") > 10
        kept_socket = kept.sock
        assert "old.example" in certificate_names(port + 1)

        config.write_text(config_text(port, tmp_path, "full", "new"))
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "new.example" not in certificate_names(port + 1):
            assert time.monotonic() < deadline, "the certificate was not reloaded"
            time.sleep(0.1)
        assert conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=pywbem.Uint16(9))[0] == 0
        assert conn.InvokeMethod("RequestStateChange", GUEST, RequestedState=pywbem.Uint16(2))[0] == 0
        kept.request("POST", "/cimom", ENUMERATE, headers)  # the same connection, still open
        assert kept.getresponse().status == 200 and kept.sock is kept_socket
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0, log
    assert "configuration reloaded" in log


def certificate_names(port: int) -> str:
    """The subject of the certificate the server presents now."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with context.wrap_socket(sock) as tls:
            der = tls.getpeercert(binary_form=True)
    result = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"],
                            input=der, capture_output=True, check=True)
    return result.stdout.decode()
