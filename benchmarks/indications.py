"""Indications: event-to-delivery latency in a burst, and what subscriptions cost requests.

A virtcim server runs in this process on libvirt's test driver (so that
the guests this script changes raise events the server sees); a pywbem
``WBEMListener`` runs in a process of its own on loopback and prints when
(``time.monotonic``, the same clock in every process) each indication came.

* Latency: with one subscription to every guest indication, 200 guests are
  each defined, started, stopped and undefined, one after another; each
  indication's latency is the time from the libvirt call that raised its
  event returning to the listener receiving it. Median and 99th
  percentile, also as a ratio to the median round trip of one GetInstance
  over HTTP measured in the same run.
* Request rate: GetInstance of one guest for a fixed time, with no
  subscription, then with 10 subscriptions while a thread defines and
  undefines a guest every 50 ms (so indications are produced and sent to
  all ten): the ratio of the two rates.

Run: ``.venv/bin/python benchmarks/indications.py [--guests 200] [--seconds 3]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import libvirt
import pywbem

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import median_ms  # noqa: E402

from tests.http.servers import running_server  # noqa: E402

PORT = 27469
GUEST = ("<domain type='test'><name>{}</name><memory>65536</memory>"
         "<os><type>hvm</type></os></domain>")
QUERY = "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ComputerSystem"
#: The listener process: one line per indication, "<monotonic> <class> <guest> <EnabledState>".
LISTENER = f"""
import sys, time, pywbem
def got(ind, host):
    src = ind["SourceInstance"]
    print(time.monotonic(), ind.classname, src["Name"], src["EnabledState"], flush=True)
listener = pywbem.WBEMListener("127.0.0.1", http_port={PORT})
listener.add_callback(got)
listener.start()
print("ready", flush=True)
sys.stdin.read()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    lv = libvirt.open("test:///default")
    listener = subprocess.Popen([sys.executable, "-c", LISTENER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        with running_server(Path(tempfile.mkdtemp())) as server:
            conn = server.connection()
            target = pywbem.CIMInstanceName("Test_ComputerSystem", {
                "CreationClassName": "Test_ComputerSystem", "Name": "test"})
            round_trip = median_ms(lambda: conn.GetInstance(target), 200) / 1000
            rate_without = _rate(conn, target, args.seconds)
            interop = server.connection("interop")
            _subscribe(interop, 0)
            latencies = _burst(lv, listener.stdout, args.guests)
            for number in range(1, 10):
                _subscribe(interop, number)
            churn = threading.Event()
            churner = threading.Thread(target=_churn, args=(lv, churn), daemon=True)
            churner.start()
            rate_with = _rate(conn, target, args.seconds)
            churn.set()
            churner.join()
    finally:
        listener.kill()
        listener.wait()
    latencies.sort()
    median = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{'measure':<52}{'value':>12}{'ratio':>10}")
    print(f"{'GetInstance round trip (baseline), median':<52}{round_trip * 1e3:>10.2f}ms{1:>10.2f}")
    print(f"{f'event to listener, {args.guests}-guest burst, median':<52}"
          f"{median * 1e3:>10.2f}ms{median / round_trip:>10.2f}")
    print(f"{f'event to listener, {args.guests}-guest burst, 99th pct':<52}"
          f"{p99 * 1e3:>10.2f}ms{p99 / round_trip:>10.2f}")
    print(f"{'GetInstance/s, no subscription (baseline)':<52}{rate_without:>12.0f}{1:>10.2f}")
    print(f"{'GetInstance/s, 10 subscriptions, guests changing':<52}{rate_with:>12.0f}"
          f"{rate_with / rate_without:>10.2f}")


def _subscribe(interop: pywbem.WBEMConnection, number: int) -> pywbem.CIMInstanceName:
    destination = interop.CreateInstance(pywbem.CIMInstance(
        "CIM_ListenerDestinationCIMXML", properties={
            "Name": f"bench{number}", "Destination": f"http://127.0.0.1:{PORT}",
            "PersistenceType": pywbem.Uint16(3)}))
    found = interop.CreateInstance(pywbem.CIMInstance(
        "CIM_IndicationFilter", properties={"Name": f"bench{number}", "Query": QUERY,
                                            "QueryLanguage": "WQL"}))
    return interop.CreateInstance(pywbem.CIMInstance(
        "CIM_IndicationSubscription", properties={"Filter": found, "Handler": destination}))


def _burst(lv: libvirt.virConnect, received: IO[str], guests: int) -> list[float]:
    """Each indication's latency after the libvirt call that caused it."""
    sent: dict[tuple[str, str], float] = {}
    steps = ("ComputerSystemCreatedIndication", "started", "stopped",
             "ComputerSystemDeletedIndication")
    for number in range(guests):
        name = f"bench-{number:04}"
        dom = lv.defineXML(GUEST.format(name))
        sent[(name, steps[0])] = time.monotonic()
        dom.create()
        sent[(name, steps[1])] = time.monotonic()
        dom.destroy()
        sent[(name, steps[2])] = time.monotonic()
        dom.undefine()
        sent[(name, steps[3])] = time.monotonic()
    latencies = []
    for _ in range(4 * guests):
        at, classname, name, state = received.readline().split()
        kind = classname.split("_", 1)[1]
        if kind == "ComputerSystemModifiedIndication":
            kind = "started" if state == "2" else "stopped"
        latencies.append(float(at) - sent[(name, kind)])
    return latencies


def _churn(lv: libvirt.virConnect, stop: threading.Event) -> None:
    number = 0
    while not stop.wait(0.05):
        lv.defineXML(GUEST.format(f"churn-{number}")).undefine()
        number += 1


def _rate(conn: pywbem.WBEMConnection, target: pywbem.CIMInstanceName, seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.GetInstance(target)
        count += 1
    return count / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
