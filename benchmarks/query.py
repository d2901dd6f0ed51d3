"""A query for one guest by name, beside a full enumeration and raw libvirt's lookup.

Two hypervisors, 1,000 guests each: libvirt's in-process test driver (a
node of that many guests), and a real libvirtd (``qemu:///system``, 1,000
tiny guests ``virtcim-bench-<n>`` defined, never started, always undefined at
the end; skipped with a row saying so when the daemon does not answer).
Each is served by ``virtcim serve`` in a subprocess. Timed in the same run:

* baseline: libvirt-python ``lookupByName`` + ``XMLDesc`` + ``info`` of one
  guest, what a libvirt client asking about that guest pays (the median of
  300 lookups, each timed alone);
* ``ExecQuery`` ``SELECT * FROM <Prefix>_ComputerSystem WHERE Name = '…'``
  (WQL), the same in DMTF:CQL through ``CIM_ComputerSystem`` (which also
  reaches the host), ``OpenEnumerateInstances`` of ``CIM_ComputerSystem``
  with the ``FilterQuery`` ``Name = '…'`` (DMTF:FQL), and, for scale,
  ``GetInstance`` of the same guest: the server's time (what it logs, from
  reading the request to writing the last byte of the reply), the median of
  30 requests;
* ``EnumerateInstances <Prefix>_ComputerSystem``: every guest, what the
  query would cost if it could not be pushed down into libvirt;
* on the test driver, the WQL query through the operations layer in this
  process, without HTTP and CIM-XML: what the query itself costs beside the
  lookup, both in process.

Each row's ratio is against the raw lookup; the note gives it against the
full enumeration. Goal: the WQL query within 2x of the raw lookup through
the daemon, where a CIM client's query and a libvirt client's lookup both
cross to another process. On the test driver the raw lookup is a function
call in this process (about 12 us), which no request over HTTP could be
within 2x of; its rows are for scale.

    .venv/bin/python benchmarks/query.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import libvirt
from _common import (
    Row,
    class_param,
    guest_xml,
    instance_name_param,
    intrinsic,
    median_ms,
    post,
    print_table,
    server,
    value_param,
    write_node,
)

from providers.virt import naming
from virtcim.app import build_application
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.config import Settings

GUESTS = 1000
GOAL_RATIO = 2.0
DAEMON_URI = "qemu:///system"
#: Raw lookups timed for the baseline, and query rows' requests: the median of each counts.
LOOKUPS = 300
REQUESTS = 30


def raw_lookup(conn: libvirt.virConnect, name: str) -> None:
    domain = conn.lookupByName(name)
    domain.XMLDesc(0)
    domain.info()


def requests(prefix: str, name: str) -> list[tuple[str, str, bytes]]:
    """(row title, CIM method, request body) of each timed request about guest ``name``."""
    guests = f"{prefix}_ComputerSystem"
    wql = f"SELECT * FROM {guests} WHERE Name = '{name}'"
    cql = f"SELECT * FROM CIM_ComputerSystem WHERE Name = '{name}'"
    return [
        (f"ExecQuery WQL {guests} Name=", "ExecQuery",
         intrinsic("ExecQuery", value_param("QueryLanguage", "WQL") + value_param("Query", wql))),
        ("ExecQuery CQL CIM_ComputerSystem Name=", "ExecQuery",
         intrinsic("ExecQuery", value_param("QueryLanguage", "DMTF:CQL")
                   + value_param("Query", cql))),
        ("OpenEnumerateInstances FQL Name=", "OpenEnumerateInstances",
         intrinsic("OpenEnumerateInstances", class_param("ClassName", "CIM_ComputerSystem")
                   + value_param("FilterQueryLanguage", "DMTF:FQL")
                   + value_param("FilterQuery", f"Name = '{name}'")
                   + value_param("MaxObjectCount", "100"))),
        (f"GetInstance {guests} (for scale)", "GetInstance",
         intrinsic("GetInstance", instance_name_param(
             "InstanceName", guests, CreationClassName=guests, Name=name))),
    ]


def measure(uri: str, prefix: str, name: str, folder: Path, in_process_too: bool) -> list[Row]:
    conn = libvirt.open(uri)
    try:
        raw_lookup(conn, name)
        baseline = median_ms(lambda: raw_lookup(conn, name), LOOKUPS)
    finally:
        conn.close()
    rows = []
    with server(uri, folder / "state", log_requests=True) as running:
        http = running.connection()
        body = intrinsic("EnumerateInstances", class_param("ClassName", f"{prefix}_ComputerSystem"))
        for _ in range(4):
            post(http, "EnumerateInstances", body)
        enumeration = min(running.server_ms("EnumerateInstances")[-3:])
        for title, method, request in requests(prefix, name):
            reply = post(http, method, request)
            if name.encode() not in reply or reply.count(b"<INSTANCE ") != 1:
                raise RuntimeError(f"{title}: not the one guest: {reply[:400]!r}")
            began = time.perf_counter()
            for _ in range(REQUESTS):
                post(http, method, request)
            round_trip = (time.perf_counter() - began) / REQUESTS * 1000
            served = statistics.median(running.server_ms(method)[-REQUESTS:])
            judged = title.startswith("ExecQuery WQL") and not naming.runs_in_process(uri)
            goal = GOAL_RATIO if judged else None
            rows.append(Row(title, GUESTS, served, baseline, goal=goal,
                            note=f"1/{enumeration / served:.0f} of the enumeration; "
                                 f"round trip {round_trip:.2f} ms"))
        rows.append(Row(f"EnumerateInstances {prefix}_ComputerSystem", GUESTS, enumeration,
                        baseline, note="every guest"))
    if in_process_too:
        rows.append(in_process(uri, prefix, name, folder, baseline))
    return rows


def in_process(uri: str, prefix: str, name: str, folder: Path, baseline: float) -> Row:
    """The WQL query through the operations layer alone: no HTTP, no CIM-XML."""
    app = build_application(Settings(uris=[uri], bind=["127.0.0.1"], http_port=0, auth="none",
                                     state_dir=folder / "in-process"))
    query = f"SELECT * FROM {prefix}_ComputerSystem WHERE Name = '{name}'"
    call = IntrinsicCall("1", "ExecQuery", "root/virt", {"QueryLanguage": "WQL", "Query": query})

    def run() -> int:
        return len(list(app.dispatcher.intrinsic(call)))

    if run() != 1:
        raise RuntimeError(f"{query}: not the one guest")
    took = median_ms(run, LOOKUPS)
    return Row("ExecQuery WQL, operations layer only", GUESTS, took, baseline,
               note="in process: no HTTP, no CIM-XML")


def on_daemon(folder: Path) -> list[Row]:
    libvirt.registerErrorHandler(lambda _context, _error: None, None)  # errors are handled here
    try:
        conn = libvirt.open(DAEMON_URI)
    except libvirt.libvirtError as error:
        return [Row(f"skipped: {DAEMON_URI} does not answer ({error})", GUESTS, 0.0)]
    names = []
    try:
        for number in range(GUESTS):
            conn.defineXML(guest_xml(number, domain_type="qemu"))
            names.append(f"virtcim-bench-{number}")
        return measure(DAEMON_URI, "KVM", names[GUESTS // 2], folder, in_process_too=False)
    finally:
        for name in names:
            try:
                conn.lookupByName(name).undefine()
            except libvirt.libvirtError:
                pass  # already gone
        conn.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        uri = write_node(folder, GUESTS)
        rows = measure(uri, "Test", f"virtcim-bench-{GUESTS // 2}", folder / "test",
                       in_process_too=True)
        print_table(f"One of {GUESTS:,} guests by name, libvirt's test driver (server time); "
                    "baseline: raw libvirt lookupByName + XMLDesc + info of that guest", rows)
        rows = on_daemon(folder / "daemon")
        print_table(f"One of {GUESTS:,} defined guests by name, {DAEMON_URI} (server time); "
                    "baseline: the same raw lookup through the daemon", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
