"""The migration adapter: destination URIs, the checks, and a failed move on the test driver.

The test driver cannot migrate, which is what the restart case needs: the guest is
shut down, the move fails, and the guest must run here again.
"""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIMError

from providers.virt import DomainState
from providers.virt import migration as moves
from providers.virt.migration import Mode, Transport


@pytest.mark.parametrize(("source", "host", "transport", "uri"), [
    ("qemu:///system", "db2.example.com", Transport.TCP, "qemu+tcp://db2.example.com/system"),
    ("qemu:///system", "db2", Transport.SSH, "qemu+ssh://db2/system"),
    ("qemu:///session", "10.0.0.7", Transport.TLS, "qemu+tls://10.0.0.7/session"),
    ("qemu:///system", "db2", Transport.TLS_UNVERIFIED, "qemu+tls://db2/system?no_verify=1"),
    ("qemu+unix:///system", "fe80::1", Transport.TCP, "qemu+tcp://[fe80::1]/system"),
    ("qemu:///system", "[2001:db8::7]", Transport.TCP, "qemu+tcp://[2001:db8::7]/system"),
    ("xen:///", "db2", Transport.SSH, "xen+ssh://db2/"),
    ("xen://", "db2", Transport.SSH, "xen+ssh://db2/"),
    ("lxc:///system", "db2.", Transport.UNIX, "lxc+unix://db2./system"),
])
def test_the_destination_is_the_same_driver_on_the_host(source, host, transport, uri):
    assert moves.destination_uri(source, host, transport) == uri


@pytest.mark.parametrize("host", [
    "", "root@db2", "db2:16509", "db2/session", "db2?command=touch%20x", "db2#x", "-db2",
    "db2-", "a..b", ".db2", "x" * 64 + ".example", "db 2", "db2\n", "db2\0", "[db2]",
    "2001:db8::zz", "Ünïcødé", ("a." * 127) + "b",
])
def test_a_host_that_is_no_name_or_address_is_refused(host):
    with pytest.raises(CIMError) as error:
        moves.destination_uri("qemu:///system", host, Transport.TCP)
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER


def test_a_guest_the_destination_already_has_cannot_move(hypervisor):
    guest = hypervisor.domain("test")
    # test:///default from this process is the same state: it has "test" already.
    assert moves.obstacles(hypervisor, guest, "test:///default") == [
        "the destination already has a guest named 'test'"]


def test_a_guest_another_test_node_can_run_has_no_obstacle(hypervisor, private_hypervisor):
    guest = hypervisor.domain("test")
    node = private_hypervisor.uri
    assert moves.obstacles(hypervisor, guest, node) == []


def test_an_unreachable_destination_fails_naming_it(hypervisor):
    with pytest.raises(CIMError) as error:
        moves.obstacles(hypervisor, hypervisor.domain("test"), "test+tcp://127.0.0.1/default")
    assert error.value.status_code == CIM_ERR_FAILED
    assert "test+tcp://127.0.0.1/default" in error.value.status_description


def test_a_refused_move_leaves_the_guest_where_it_was(hypervisor, private_hypervisor):
    with pytest.raises(CIMError) as error:
        moves.migrate(hypervisor, hypervisor.domain("test"), private_hypervisor.uri, Mode.LIVE)
    assert "migrate" in error.value.status_description
    assert hypervisor.domain("test").state is DomainState.RUNNING


def test_a_guest_shut_down_for_a_restart_runs_here_again_when_it_cannot_move(
        hypervisor, private_hypervisor):
    with pytest.raises(CIMError):
        moves.migrate(hypervisor, hypervisor.domain("test"), private_hypervisor.uri,
                      Mode.RESTART, shutdown_timeout=5)
    assert hypervisor.domain("test").state is DomainState.RUNNING
    assert [d.name for d in private_hypervisor.domains()] == ["private"]
