"""A bounded soak: 16 client threads, 20,000 mixed operations, no error, no growth.

One ``virtcim serve --uri test:///default`` (a subprocess, as in
:mod:`_common`) and 16 pywbem clients, threads of this process, each with
a keep-alive connection of its own, share 20,000 CIM operations drawn
(with a fixed seed) from a mix of reads and a few changes: GetInstance,
EnumerateInstances, EnumerateInstanceNames, Associators, References,
ExecQuery, the read method GetCentralInstances, and now and then a guest
defined and destroyed through the VirtualSystemManagementService or an
indication filter, a permanent listener destination and their subscription
made and deleted (written to the state folder's SQLite file).

Printed: the errors (there must be none), the server's resident memory and
thread count after a warm-up round (the start), halfway and at the end, with
the highest seen while the operations ran, against the stated bound
(:data:`MEMORY_GROWTH_MIB`, a thread per client thread); and the rate of the mix
against a baseline measured in the same run: the same 16 pywbem clients
sending GetInstance to the standard library's ``ThreadingHTTPServer``
answering a canned reply (the bare floor of ``getinstance.py``), so the
clients' own cost is in both. The exit status is 1 when an operation failed
or the bound was passed.

Run: ``.venv/bin/python benchmarks/soak.py [--operations 20000] [--threads 16]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pywbem
from _common import CHECKOUT, Server, free_port, post, server, server_env, wait_for
from getinstance import PYTHON, REQUEST, STDLIB_SERVER

#: The bound: from the warmed-up start to any moment of the run, the server's
#: resident memory grows by at most this many MiB, and its threads by at most
#: one per client thread (the sender of the listener destination that client
#: may hold at that moment; there are none at the start).
MEMORY_GROWTH_MIB = 24
#: Operations of the warm-up round, before the start is measured (not counted).
WARM_UP = 800
SEED = 14
#: How often the server's memory and threads are looked at while the operations run.
SAMPLE_SECONDS = 0.25
GUEST = "test"
PROFILE_ID = "CIM:DSP1057-VirtualSystem-1.0.0a"
#: Matches nothing the mix does (it makes no jobs), so nothing is delivered.
FILTER_QUERY = "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob"
NOWHERE = "http://127.0.0.1:9/"


def guest_path() -> pywbem.CIMInstanceName:
    return pywbem.CIMInstanceName("Test_ComputerSystem", {
        "CreationClassName": "Test_ComputerSystem", "Name": GUEST}, namespace="root/virt")


@dataclass
class Client:
    """One client thread's connections and what it has made, named apart from the others'."""

    number: int
    virt: pywbem.WBEMConnection
    interop: pywbem.WBEMConnection
    host: pywbem.CIMInstanceName
    service: pywbem.CIMInstanceName
    profile: pywbem.CIMInstanceName
    made: itertools.count = field(default_factory=itertools.count)

    def name(self, what: str) -> str:
        return f"soak-{what}-{self.number}-{next(self.made)}"


def _define_and_destroy(client: Client) -> int:
    name = client.name("guest")
    settings = f'instance of Test_VirtualSystemSettingData {{ VirtualSystemIdentifier = "{name}"; }};'
    memory = ('instance of Test_MemResourceAllocationSettingData { VirtualQuantity = 64; '
              'AllocationUnits = "MegaBytes"; };')
    result, out = client.virt.InvokeMethod("DefineSystem", client.service, SystemSettings=settings,
                                           ResourceSettings=[memory])
    if result != 0:
        raise RuntimeError(f"DefineSystem returned {result}")
    result, _ = client.virt.InvokeMethod("DestroySystem", client.service,
                                         AffectedSystem=out["ResultingSystem"])
    if result != 0:
        raise RuntimeError(f"DestroySystem returned {result}")
    return 2


def _subscribe_and_unsubscribe(client: Client) -> int:
    name = client.name("subscription")
    found = client.interop.CreateInstance(pywbem.CIMInstance("CIM_IndicationFilter", properties={
        "Name": name, "Query": FILTER_QUERY, "QueryLanguage": "WQL"}))
    handler = client.interop.CreateInstance(pywbem.CIMInstance(
        "CIM_ListenerDestinationCIMXML", properties={"Name": name, "Destination": NOWHERE}))
    link = client.interop.CreateInstance(pywbem.CIMInstance(
        "CIM_IndicationSubscription", properties={"Filter": found, "Handler": handler}))
    for path in (link, handler, found):
        client.interop.DeleteInstance(path)
    return 6


def _one(call: Callable[[Client], object]) -> Callable[[Client], int]:
    def run(client: Client) -> int:
        call(client)
        return 1
    return run


#: (weight, name, what it does; returns how many operations it made).
MIX: list[tuple[int, str, Callable[[Client], int]]] = [
    (24, "GetInstance guest", _one(lambda c: c.virt.GetInstance(guest_path()))),
    (5, "GetInstance VSSD", _one(lambda c: c.virt.GetInstance(pywbem.CIMInstanceName(
        "Test_VirtualSystemSettingData", {"InstanceID": f"Test:{GUEST}"}, namespace="root/virt")))),
    (8, "EnumerateInstances guests", _one(lambda c: c.virt.EnumerateInstances(
        "Test_ComputerSystem"))),
    (4, "EnumerateInstances settings", _one(lambda c: c.virt.EnumerateInstances(
        "CIM_ResourceAllocationSettingData"))),
    (8, "EnumerateInstanceNames devices", _one(lambda c: c.virt.EnumerateInstanceNames(
        "CIM_LogicalDevice"))),
    (5, "EnumerateInstanceNames pools", _one(lambda c: c.virt.EnumerateInstanceNames(
        "CIM_ResourcePool"))),
    (8, "Associators guest devices", _one(lambda c: c.virt.Associators(
        guest_path(), AssocClass="Test_SystemDevice"))),
    (5, "References host", _one(lambda c: c.virt.References(c.host))),
    (8, "ExecQuery by name", _one(lambda c: c.virt.ExecQuery(
        "DMTF:CQL", f"SELECT * FROM CIM_ComputerSystem WHERE Name = '{GUEST}'"))),
    (4, "ExecQuery all", _one(lambda c: c.virt.ExecQuery(
        "WQL", "SELECT Name, EnabledState FROM CIM_ComputerSystem"))),
    (8, "InvokeMethod GetCentralInstances", _one(lambda c: c.interop.InvokeMethod(
        "GetCentralInstances", c.profile))),
    (1, "define and destroy a guest", _define_and_destroy),
    (1, "subscribe and unsubscribe", _subscribe_and_unsubscribe),
]


@dataclass
class Tally:
    """Operations made and failures seen by all threads."""

    done: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, count: int, error: str | None = None) -> None:
        with self.lock:
            self.done += count
            if error is not None:
                self.errors.append(error)


def connect(url: str, number: int) -> Client:
    virt = pywbem.WBEMConnection(url, default_namespace="root/virt", timeout=120)
    interop = pywbem.WBEMConnection(url, default_namespace="root/interop", timeout=120)
    [host] = virt.EnumerateInstanceNames("Test_HostSystem")
    [service] = virt.EnumerateInstanceNames("Test_VirtualSystemManagementService")
    [profile] = [path for path in interop.EnumerateInstanceNames("CIM_RegisteredProfile")
                 if path["InstanceID"] == PROFILE_ID]
    return Client(number, virt, interop, host, service, profile)


def work(client: Client, operations: int, tally: Tally, seed: int) -> None:
    """Draw from :data:`MIX` until this thread has made ``operations`` operations."""
    draw = random.Random(seed)
    weights = [weight for weight, _, _ in MIX]
    made = 0
    while made < operations:
        _, name, run = draw.choices(MIX, weights)[0]
        try:
            count = run(client)
        except Exception as error:  # every failure is counted and shown
            tally.add(1, f"{name}: {type(error).__name__}: {error}")
            made += 1
            continue
        tally.add(count)
        made += count


def run_threads(clients: list[Client], operations: int, tally: Tally, seed: int,
                watch: Callable[[], None] = lambda: None) -> float:
    """Every client thread's share of ``operations``; the seconds they took in all."""
    share = operations // len(clients)
    threads = [threading.Thread(target=work, args=(client, share, tally, seed + client.number))
               for client in clients]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        watch()
        time.sleep(SAMPLE_SECONDS)
    return time.perf_counter() - began


@dataclass
class Sample:
    rss_mib: float
    threads: int


def sample(soaked: Server) -> Sample:
    status = Path(f"/proc/{soaked.process.pid}/status").read_text().splitlines()
    threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    return Sample(soaked.rss_mib(), threads)


def baseline_rate(clients: int, operations: int, reply: bytes, folder: Path) -> float:
    """Operations per second of the same clients' GetInstance against the bare stdlib server."""
    canned = folder / "reply.xml"
    canned.write_bytes(reply)
    port = free_port()
    bare = subprocess.Popen([PYTHON, "-c", STDLIB_SERVER, str(canned), str(port)],
                            cwd=CHECKOUT, env=server_env())
    try:
        wait_for(port, bare)
        url = f"http://127.0.0.1:{port}"
        tally = Tally()

        def get(number: int) -> None:
            conn = pywbem.WBEMConnection(url, default_namespace="root/virt", timeout=120)
            for _ in range(operations // clients):
                try:
                    conn.GetInstance(guest_path())
                except pywbem.Error as error:
                    tally.add(1, str(error))
                    continue
                tally.add(1)

        threads = [threading.Thread(target=get, args=(n,)) for n in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        if tally.errors:
            raise RuntimeError(f"the baseline failed: {tally.errors[0]}")
        return tally.done / seconds
    finally:
        bare.terminate()
        bare.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--baseline-operations", type=int, default=4_000,
                        help="GetInstance requests of the baseline (a rate, so fewer suffice)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with server("test:///default", Path(tmp) / "state") as soaked:
            url = f"http://127.0.0.1:{soaked.port}"
            clients = [connect(url, number) for number in range(args.threads)]
            warm = Tally()
            run_threads(clients, WARM_UP, warm, SEED - 1000)
            start = sample(soaked)
            tally = Tally()
            seen: list[Sample] = []
            middle: list[Sample] = []

            def watch() -> None:
                now = sample(soaked)
                seen.append(now)
                if not middle and tally.done >= args.operations // 2:
                    middle.append(now)

            seconds = run_threads(clients, args.operations, tally, SEED, watch)
            end = sample(soaked)
            reply = post(soaked.connection(), "GetInstance", REQUEST.encode())
        bare = baseline_rate(args.threads, args.baseline_operations, reply, Path(tmp))
    rate = tally.done / seconds
    highest = Sample(max(s.rss_mib for s in [start, *seen, end]),
                     max(s.threads for s in [start, *seen, end]))
    within = (highest.rss_mib - start.rss_mib <= MEMORY_GROWTH_MIB
              and highest.threads - start.threads <= args.threads)
    errors = warm.errors + tally.errors
    print(f"Soak: {args.threads} pywbem client threads, {tally.done} mixed operations "
          f"(after {warm.done} to warm up), {os.cpu_count()} cores, code of {CHECKOUT}")
    print(f"errors: {len(errors)}")
    for error in errors[:10]:
        print(f"  {error}")
    print(f"{'server':<10} {'RSS MiB':>9} {'threads':>8}")
    for label, point in (("start", start), ("middle", (middle or [end])[0]), ("end", end),
                         ("highest", highest)):
        print(f"{label:<10} {point.rss_mib:>9.1f} {point.threads:>8}")
    print(f"bound: at most +{MEMORY_GROWTH_MIB} MiB and +{args.threads} threads over the start: "
          f"{'ok' if within else 'MISSED'} (+{highest.rss_mib - start.rss_mib:.1f} MiB, "
          f"+{highest.threads - start.threads} threads)")
    print(f"rate: {rate:.0f} ops/s; baseline (the same clients' GetInstance on the bare stdlib "
          f"server): {bare:.0f} ops/s; ratio {rate / bare:.2f}")
    return 0 if within and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
