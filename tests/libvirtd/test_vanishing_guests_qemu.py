"""A QEMU guest removed between the listing and the reading of it is left out, over HTTP.

The server reads a daemon's guests ahead of the walk in threads of its own;
another client removes a guest right after the listing, or right after its
XML was read (:mod:`tests.vanishing`), and every request still answers the
other guests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import pywbem
from lxml import etree
from lxml.builder import E

from tests.http.servers import running_server
from tests.vanishing import AFTER_ITS_XML, AFTER_THE_LISTING, Vanisher, mentions

MOMENTS = {"after the listing": AFTER_THE_LISTING, "after its XML was read": AFTER_ITS_XML}


def with_console(xml: str) -> str:
    """``xml`` with a VNC console on a port libvirt chooses (a KVMRedirectionSAP)."""
    domain = etree.fromstring(xml)
    domain.find("devices").append(E.graphics(type="vnc", autoport="yes", listen="127.0.0.1"))
    return etree.tostring(domain, encoding="unicode")


def path_of(item: Any):
    return item if not hasattr(item, "path") else item.path


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_guest_removed_mid_request_is_left_out_and_the_others_answered(
        qemu_uri, qemu_conn, scratch_guest_name, tiny_guest_xml: Callable[[str], str],
        tmp_path, monkeypatch, moment):
    staying, going = scratch_guest_name(), scratch_guest_name()
    qemu_conn.defineXML(with_console(tiny_guest_xml(staying)))
    vanisher = Vanisher(qemu_conn, monkeypatch, MOMENTS[moment], going,
                        with_console(tiny_guest_xml(going)), running=False)
    with running_server(tmp_path, uris=(qemu_uri,)) as server:
        conn = server.connection()
        [host] = conn.EnumerateInstanceNames("KVM_HostSystem")
        service = conn.EnumerateInstanceNames("KVM_ConsoleRedirectionService")[0]
        requests = {
            **{f"EnumerateInstances {classname}": (
                lambda cls=classname: conn.EnumerateInstances(cls))
               for classname in ("KVM_ComputerSystem", "KVM_VirtualSystemSettingData",
                                 "KVM_EnabledLogicalElementCapabilities",
                                 "CIM_ResourceAllocationSettingData", "CIM_LogicalDevice",
                                 "KVM_KVMRedirectionSAP")},
            "EnumerateInstanceNames CIM_ManagedElement": (
                lambda: conn.EnumerateInstanceNames("CIM_ManagedElement")),
            "ExecQuery": lambda: conn.ExecQuery(
                "DMTF:CQL", "SELECT * FROM CIM_VirtualSystemSettingData"),
            "Associators of the host": lambda: conn.Associators(
                host, AssocClass="KVM_HostedDependency"),
            "References of the console service": lambda: conn.References(service),
        }
        failures = {}
        for name, request in requests.items():
            vanisher.define()
            vanisher.arm()
            try:
                answered = [path_of(item) for item in request()]
            except pywbem.Error as error:
                failures[name] = f"failed: {error}"
                continue
            finally:
                vanished = vanisher.vanished
                vanisher.remove()
            if not vanished:
                failures[name] = "the guest never vanished"
            elif not any(mentions(path, staying) for path in answered):
                failures[name] = f"{staying} left out"
            elif not vanisher.read_first and any(mentions(path, going) for path in answered):
                failures[name] = f"{going} answered after it vanished"
        assert failures == {}
