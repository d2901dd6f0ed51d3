"""Changes of one guest at once are serialised; changes of different guests are not.

Each change reads the guest's definition, edits it and defines it again. The
tests widen the gap between the read and the write (``Domain.config`` waits
after reading), so that without the per-guest lock the later writer would
overwrite the earlier one's change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from providers.virt import Domain, DomainXML, Hypervisor
from tests.providers.cim_settings import disk, embedded, rasd, rasd_ref, vssd, vssd_ref
from tests.providers.conftest import minimal_domain_xml

#: Seconds every thread has to finish in; a deadlock shows as threads still running.
DEADLINE = 30


def run_together(calls: list[Callable[[], object]]) -> list[BaseException]:
    """Run ``calls`` in threads at once; the exceptions they raised."""
    failures: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> None:
        start.wait()
        try:
            call()
        except BaseException as error:  # reported to the test, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert not any(thread.is_alive() for thread in threads), "threads still running: deadlock"
    return failures


@pytest.fixture
def slow_reads(monkeypatch):
    """``Domain.config`` pauses after reading, as a busy daemon would."""
    real_config = Domain.config

    def config(self: Domain) -> DomainXML:
        xml = real_config(self)
        time.sleep(0.02)
        return xml

    monkeypatch.setattr(Domain, "config", config)


def persistent(hv: Hypervisor, name: str) -> DomainXML:
    return hv.domain(name).config()


@pytest.fixture
def guests(hypervisor, guest_name):
    names = [f"{guest_name}-{index}" for index in range(2)]
    for name in names:
        hypervisor.define(DomainXML.from_string(minimal_domain_xml(name)))
    yield names
    for name in names:
        hypervisor.domain(name).undefine()


def test_disks_added_to_one_guest_at_once_are_all_kept(cim, hypervisor, guests, slow_reads):
    name = guests[0]
    targets = [f"vd{letter}" for letter in "bcdefg"]
    failures = run_together([
        lambda target=target: cim.invoke(
            cim.service(), "AddResourceSettings", AffectedConfiguration=vssd_ref(name),
            ResourceSettings=[disk(target, f"/images/{target}.img")])
        for target in targets])
    assert failures == []
    assert {d.target_dev for d in persistent(hypervisor, name).disks()} == {"vda", *targets}


def test_different_changes_of_one_guest_at_once_are_all_kept(cim, hypervisor, guests,
                                                             slow_reads):
    name = guests[0]
    service = cim.service()
    failures = run_together([
        lambda: cim.invoke(service, "AddResourceSettings", AffectedConfiguration=vssd_ref(name),
                           ResourceSettings=[disk("vdb", "/images/new.img")]),
        lambda: cim.invoke(service, "ModifyResourceSettings", ResourceSettings=[
            rasd("Mem", InstanceID=f"{name}/mem", VirtualQuantity=96, AllocationUnits="MiB")]),
        lambda: cim.invoke(service, "ModifyResourceSettings", ResourceSettings=[
            rasd("Disk", InstanceID=f"{name}/vda", Address="/images/moved.img")]),
        lambda: cim.invoke(service, "ModifySystemSettings", SystemSettings=embedded(
            "Test_VirtualSystemSettingData",
            {"InstanceID": f"Test:{name}", "BootDevices": ["network", "hd"]})),
    ])
    assert failures == []
    xml = persistent(hypervisor, name)
    assert {d.target_dev: d.source for d in xml.disks()} == {
        "vda": "/images/moved.img", "vdb": "/images/new.img"}
    assert xml.current_memory_kib == 96 * 1024
    assert xml.boot_devices == ["network", "hd"]


def test_a_removal_and_a_change_of_one_guest_at_once_are_both_kept(cim, hypervisor, guests,
                                                                   slow_reads):
    name = guests[0]
    service = cim.service()
    cim.invoke(service, "AddResourceSettings", AffectedConfiguration=vssd_ref(name),
               ResourceSettings=[disk("vdb", "/images/b.img")])
    failures = run_together([
        lambda: cim.invoke(service, "RemoveResourceSettings",
                           ResourceSettings=[rasd_ref("Disk", name, "vdb")]),
        lambda: cim.invoke(service, "ModifyResourceSettings", ResourceSettings=[
            rasd("Disk", InstanceID=f"{name}/vda", Address="/images/moved.img")]),
    ])
    assert failures == []
    assert {d.target_dev: d.source for d in persistent(hypervisor, name).disks()} == {
        "vda": "/images/moved.img"}


def test_changes_of_two_guests_named_in_either_order_do_not_deadlock(cim, hypervisor, guests,
                                                                      slow_reads):
    first, second = guests
    service = cim.service()

    def move_both(order: list[str], suffix: str) -> Callable[[], object]:
        return lambda: cim.invoke(service, "ModifyResourceSettings", ResourceSettings=[
            rasd("Disk", InstanceID=f"{name}/vda", Address=f"/images/{name}-{suffix}.img")
            for name in order])

    failures = run_together([move_both([first, second], "a"), move_both([second, first], "b")])
    assert failures == []
    # One call ran after the other, whole: both guests carry the same call's change.
    sources = [persistent(hypervisor, name).disks()[0].source for name in guests]
    assert sources in ([f"/images/{first}-a.img", f"/images/{second}-a.img"],
                       [f"/images/{first}-b.img", f"/images/{second}-b.img"])


def test_changes_of_different_guests_run_side_by_side(cim, hypervisor, guests, monkeypatch):
    # Each call's first read of a definition waits for the other call's: were
    # the calls serialised, the second would never come and the barrier break.
    both_reading = threading.Barrier(2, timeout=5)
    waited = threading.local()
    real_config = Domain.config

    def config(self: Domain) -> DomainXML:
        if not getattr(waited, "done", False):
            waited.done = True
            both_reading.wait()
        return real_config(self)

    monkeypatch.setattr(Domain, "config", config)
    failures = run_together([
        lambda name=name: cim.invoke(
            cim.service(), "AddResourceSettings", AffectedConfiguration=vssd_ref(name),
            ResourceSettings=[disk("vdb", f"/images/{name}.img")])
        for name in guests])
    monkeypatch.undo()
    assert failures == []
    assert all(persistent(hypervisor, name).find_device("vdb") is not None for name in guests)


def test_two_definitions_of_one_new_name_at_once_make_one_guest(cim, hypervisor, guest_name,
                                                                 monkeypatch):
    # Both calls check that the name is free before either defines it.
    both_checked = threading.Barrier(2, timeout=5)
    real_define_xml = Hypervisor.define_xml

    def define_xml(self: Hypervisor, xml: DomainXML) -> str:
        both_checked.wait()
        return real_define_xml(self, xml)

    monkeypatch.setattr(Hypervisor, "define_xml", define_xml)
    failures = run_together([
        lambda path=path: cim.invoke(cim.service(), "DefineSystem",
                                     SystemSettings=vssd(guest_name),
                                     ResourceSettings=[disk("vda", path)])
        for path in ("/images/first.img", "/images/second.img")])
    monkeypatch.undo()
    try:
        # libvirt refuses the second: a name it has under another UUID is no change.
        assert len(failures) == 1 and "already exists" in str(failures[0])
        [source] = [d.source for d in persistent(hypervisor, guest_name).disks()]
        assert source in ("/images/first.img", "/images/second.img")
    finally:
        hypervisor.domain(guest_name).undefine()
