"""EnumerateInstances of guests and of their resource settings, against raw libvirt listing.

For each guest count, a test-driver node of that many guests (two disks, a
NIC and a console each; every other one running) is served by ``virtcim
serve`` in a subprocess. Timed, best of a few runs, in the same run:

* baseline: libvirt-python ``listAllDomains`` + ``XMLDesc`` + ``info`` per guest;
* ``EnumerateInstances CIM_ComputerSystem`` (the guests and the host), and
  ``EnumerateInstances CIM_ResourceAllocationSettingData`` (every RASD of
  every guest), over one keep-alive connection after a warm-up request:
  the server's time (what it logs: from reading the request to writing the
  last byte of the reply), and in the note the round trip (from the request
  leaving to the last byte read by the client).

Goals, on the server's time: ComputerSystem at most 2x the baseline, all
RASDs at most 4x, at 1,000 guests; the other counts show how cost scales.

    .venv/bin/python benchmarks/enumerate.py [--quick] [--guests N...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import libvirt
from _common import (
    Row,
    best_of,
    class_param,
    intrinsic,
    post,
    print_table,
    raw_listing,
    runs_for,
    scales,
    server,
    write_node,
)

#: Goals (largest ratio to the baseline) at the goal's guest count.
GOAL_GUESTS = 1000
OPERATIONS = (
    ("EnumerateInstances CIM_ComputerSystem", "CIM_ComputerSystem", 2.0),
    ("EnumerateInstances CIM_RASD (deep)", "CIM_ResourceAllocationSettingData", 4.0),
)


def measure(folder: Path, guests: int) -> list[Row]:
    uri = write_node(folder, guests)
    runs = runs_for(guests)
    conn = libvirt.open(uri)
    try:
        raw_listing(conn)
        baseline = best_of(runs, lambda: raw_listing(conn))
    finally:
        conn.close()
    rows = []
    with server(uri, folder / "state", log_requests=True) as running:
        http = running.connection()
        for title, classname, goal in OPERATIONS:
            if guests > GOAL_GUESTS and classname != "CIM_ComputerSystem":
                continue  # a quarter of a GB of RASDs: minutes, and linear already below
            body = intrinsic("EnumerateInstances", class_param("ClassName", classname))
            size = len(post(http, "EnumerateInstances", body))
            took = best_of(runs, lambda body=body: post(http, "EnumerateInstances", body))
            served = min(running.server_ms("EnumerateInstances")[-runs:])
            rows.append(Row(title, guests, served, baseline, f"{size / 1024:,.0f} KiB body",
                            goal if guests == GOAL_GUESTS else None,
                            note=f"round trip {took:.1f} ms"))
        rows.append(Row("server resident memory after", guests, 0.0, None,
                        f"{running.rss_mib():.0f} MiB", note="(not a time)"))
    return rows


def main() -> int:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for guests in scales():
            rows.extend(measure(Path(tmp), guests))
    print_table("EnumerateInstances over HTTP; baseline: raw libvirt listAllDomains + XMLDesc + "
                "info per guest", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
