"""The ``virtcim serve`` command as DESIGN.md promises it: test driver, no daemon, no auth."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pywbem

pytestmark = [pytest.mark.http]

VIRTCIM = Path(sys.executable).with_name("virtcim")


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
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def test_serve_refuses_no_authentication_on_a_public_address(tmp_path):
    result = subprocess.run(
        [str(VIRTCIM), "serve", "--uri", "test:///default", "--auth", "none",
         "--bind", "0.0.0.0", "--http-port", str(free_port()), "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "auth none" in result.stderr
