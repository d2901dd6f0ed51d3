"""200 guests on a real libvirtd (``qemu:///system``), beside libvirt-cim's figures.

Defines 200 tiny guests ``virtcim-bench-<n>`` (never started), and always
undefines them at the end. Skipped, with a row saying so, when
``qemu:///system`` does not answer. Timed in the same run:

* baseline: libvirt-python ``listAllDomains`` + ``XMLDesc`` + ``info`` per guest;
* ``EnumerateInstances CIM_ComputerSystem`` and ``CIM_ResourceAllocationSettingData``
  through ``virtcim serve``: the first request (cold domain cache) and the
  best of later ones (warm cache). Beside libvirt-cim's figures, the round
  trip (until the client read the last byte, as a client of libvirt-cim
  measured it); beside the raw listing, the server's time (what it logs:
  from reading the request to writing the last byte of the reply, the CIM
  layer's cost as on the test driver).

Goals, once the event-invalidated domain cache is warm: at least 10x faster
than libvirt-cim on SFCB measured on this kind of machine (657 ms and
2,200 ms), and faster than the raw listing. The first request after start
(cold) is shown beside libvirt-cim without a goal: the raw libvirt listing
alone takes more than a tenth of libvirt-cim's 657 ms here.
Before timing, a change made with ``virsh`` (setmaxmem on a guest, undefining
another) must show in the next request.

    .venv/bin/python benchmarks/libvirtd.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libvirt
from _common import (
    Row,
    best_of,
    class_param,
    guest_xml,
    intrinsic,
    post,
    print_table,
    raw_listing,
    server,
)

URI = "qemu:///system"
GUESTS = 200
RUNS = 5
#: libvirt-cim on SFCB, 200 guests on this kind of machine.
LIBVIRT_CIM_MS = {"CIM_ComputerSystem": 657.0, "CIM_ResourceAllocationSettingData": 2200.0}
SPEEDUP_GOAL = 10


def enumerate_body(classname: str) -> bytes:
    return intrinsic("EnumerateInstances", class_param("ClassName", classname))


def memory_setting(body: bytes, guest: str) -> bytes:
    """The encoded memory RASD of ``guest`` in an enumeration's reply."""
    found = re.search(rb"<VALUE.NAMEDINSTANCE>(?:(?!</VALUE.NAMEDINSTANCE>).)*<VALUE>"
                      + guest.encode() + rb"/mem</VALUE>.*?</VALUE.NAMEDINSTANCE>", body, re.S)
    if found is None:
        raise RuntimeError(f"no memory setting of {guest} in the reply")
    return found.group(0)


def check_virsh_changes_show(http, names: list[str]) -> None:
    """A change made with virsh is in the very next reply."""
    rasd = enumerate_body("CIM_ResourceAllocationSettingData")
    before = memory_setting(post(http, "EnumerateInstances", rasd), names[0])
    subprocess.run(["virsh", "-q", "-c", URI, "setmaxmem", names[0], "96M", "--config"],
                   check=True, capture_output=True)
    after = memory_setting(post(http, "EnumerateInstances", rasd), names[0])
    if before == after:
        raise RuntimeError("virsh setmaxmem did not show in the next request")
    subprocess.run(["virsh", "-q", "-c", URI, "undefine", names[-1]], check=True,
                   capture_output=True)
    guests = post(http, "EnumerateInstances", enumerate_body("CIM_ComputerSystem"))
    if f"<VALUE>{names[-1]}</VALUE>".encode() in guests:
        raise RuntimeError("virsh undefine did not show in the next request")


def measure(conn: libvirt.virConnect, folder: Path, names: list[str]) -> list[Row]:
    baseline = best_of(RUNS, lambda: raw_listing(conn))
    rows = []
    with server(URI, folder / "state", log_requests=True) as running:
        http = running.connection()
        for classname, theirs in LIBVIRT_CIM_MS.items():
            body = enumerate_body(classname)
            start = time.perf_counter()
            post(http, "EnumerateInstances", body)
            cold_trip = (time.perf_counter() - start) * 1000
            warm_trip = best_of(RUNS, lambda body=body: post(http, "EnumerateInstances", body))
            warm = min(running.server_ms("EnumerateInstances")[-RUNS:])
            rows.append(Row(f"{classname} cold cache", GUESTS, cold_trip, theirs,
                            note=f"(baseline: libvirt-cim {theirs:.0f} ms; no goal)"))
            rows.append(Row(f"{classname} warm cache", GUESTS, warm_trip, theirs,
                            goal=1 / SPEEDUP_GOAL, note=f"(baseline: libvirt-cim {theirs:.0f} ms)"))
            rows.append(Row(f"{classname} warm, server time", GUESTS, warm, baseline, goal=1.0,
                            note="(baseline: raw libvirt listing)"))
        check_virsh_changes_show(http, names)
    rows.append(Row("a virsh change visible in the next request", GUESTS, 0.0, note="ok"))
    return rows


def main() -> int:
    libvirt.registerErrorHandler(lambda _context, _error: None, None)  # errors are handled here
    try:
        conn = libvirt.open(URI)
    except libvirt.libvirtError as error:
        print_table("Real libvirtd", [Row(f"skipped: {URI} does not answer ({error})", GUESTS, 0.0)])
        return 0
    names = []
    try:
        for number in range(GUESTS):
            conn.defineXML(guest_xml(number, domain_type="qemu"))
            names.append(f"virtcim-bench-{number}")
        with tempfile.TemporaryDirectory() as tmp:
            rows = measure(conn, Path(tmp), names)
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass  # undefined by the benchmark itself
        conn.close()
    print_table(f"{GUESTS} defined guests on {URI}", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
