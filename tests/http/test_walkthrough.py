"""The README's walk-through runs as written against a live server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import libvirt
import pytest

from tests.http.servers import CLIENT_ENV, running_server

pytestmark = [pytest.mark.http, pytest.mark.clients]

ROOT = Path(__file__).resolve().parents[2]
README_URL = "http://127.0.0.1:5988"


def walkthrough_scripts() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("walkthrough")) as srv:
        yield srv


def run(script: str, url: str) -> subprocess.CompletedProcess[str]:
    # The clients of the Python running the tests, wherever its environment is.
    env = {**CLIENT_ENV, "PATH": f"{Path(sys.executable).parent}:{CLIENT_ENV['PATH']}"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace(README_URL, url)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)


def test_the_pywbemcli_walkthrough_starts_a_guest_and_adds_a_disk(server):
    result = run(walkthrough_scripts()[0], server.http_url)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "EnabledState = 2;" in result.stdout
    assert 'InstanceID=\\"test/vdb\\"' in result.stdout
    conn = libvirt.open("test:///default")
    try:
        domain = conn.lookupByName("test")
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        assert "vdb" in domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        conn.close()


@pytest.mark.skipif(shutil.which("wbemcli") is None, reason="Debian's sblim-wbemcli is not installed")
def test_the_wbemcli_walkthrough_lists_and_pauses(server):
    result = run(walkthrough_scripts()[1], server.http_url)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "RequestStateChange: 0" in result.stdout
