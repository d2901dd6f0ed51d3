"""EnumerateInstances response encoding: virtcim's encoder against pywbem's.

Encodes 1,000 instances of 26 properties (strings that need escaping,
integers of several widths, booleans, datetimes, reals, arrays, NULLs, a
reference) into the IRETURNVALUE of an EnumerateInstances response, once
with ``virtcim.cimxml.encode`` and once with pywbem's ``tocimxmlstr`` per
instance, in the same run. Before timing, both outputs are parsed with
pywbem's client parser and must give equal instances.

    .venv/bin/python benchmarks/encode.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pywbem import (
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Real64,
    Sint32,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
)
from pywbem._tupleparse import TupleParser  # private: the client's parser, to check outputs
from pywbem._tupletree import xml_to_tupletree_sax

from virtcim.cimxml.encode import encode_intrinsic_response

INSTANCES = 1000
RUNS = 3


def make_instance(number: int) -> CIMInstance:
    name = f"guest-{number}"
    path = CIMInstanceName("KVM_ComputerSystem",
                           {"CreationClassName": "KVM_ComputerSystem", "Name": name})
    properties = [
        CIMProperty("CreationClassName", "KVM_ComputerSystem"),
        CIMProperty("Name", name),
        CIMProperty("ElementName", f"<{name}> & friends"),
        CIMProperty("Caption", "Virtual System"),
        CIMProperty("Description", f'guest "{name}" on qemu:///system'),
        CIMProperty("EnabledState", Uint16(2)),
        CIMProperty("RequestedState", Uint16(12)),
        CIMProperty("EnabledDefault", Uint16(2)),
        CIMProperty("HealthState", Uint16(5)),
        CIMProperty("OperationalStatus", [Uint16(2), Uint16(32768)]),
        CIMProperty("StatusDescriptions", ["OK", "Running"]),
        CIMProperty("Dedicated", [Uint16(0)]),
        CIMProperty("NameFormat", None, type="string"),
        CIMProperty("PrimaryOwnerName", None, type="string"),
        CIMProperty("InstallDate", CIMDateTime("20240131123456.000000+000")),
        CIMProperty("TimeOfLastStateChange", CIMDateTime("20240201080000.000000+000")),
        CIMProperty("Memory", Uint64(4 * 2**30 + number)),
        CIMProperty("Processors", Uint32(4)),
        CIMProperty("Priority", Sint32(-5)),
        CIMProperty("Weight", Uint8(100)),
        CIMProperty("Load", Real64(0.25 + number / 1e6)),
        CIMProperty("Autostart", number % 2 == 0),
        CIMProperty("Persistent", True),
        CIMProperty("UUID", f"00000000-0000-0000-0000-{number:012d}"),
        CIMProperty("Tags", ["web", "prod", None], type="string"),
        CIMProperty("Host", CIMInstanceName("KVM_HostSystem", {"Name": "host.example"},
                                            namespace="root/virt")),
    ]
    return CIMInstance("KVM_ComputerSystem", properties=properties, path=path)


def virtcim_encode(instances: list[CIMInstance]) -> bytes:
    return b"".join(encode_intrinsic_response("1001", "EnumerateInstances", instances))


def pywbem_encode(instances: list[CIMInstance]) -> bytes:
    """What a server built on pywbem's object model would write."""
    items = "".join(instance.tocimxmlstr() for instance in instances)
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLERSP>'
        f'<IMETHODRESPONSE NAME="EnumerateInstances"><IRETURNVALUE>{items}</IRETURNVALUE>'
        "</IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>"
    ).encode("utf-8")


def parsed(body: bytes) -> list[CIMInstance]:
    cim = TupleParser().parse_cim(xml_to_tupletree_sax(body, "CIM-XML response"))
    return cim[2][2][2][2][0][2]


def best_of(encode: Callable[[list[CIMInstance]], bytes], instances: list[CIMInstance]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        encode(instances)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    instances = [make_instance(number) for number in range(INSTANCES)]
    ours, theirs = virtcim_encode(instances), pywbem_encode(instances)
    if parsed(ours) != parsed(theirs):
        raise SystemExit("virtcim's output does not parse back to the same instances")

    rows = [("pywbem tocimxmlstr", best_of(pywbem_encode, instances), len(theirs)),
            ("virtcim encoder", best_of(virtcim_encode, instances), len(ours))]
    baseline = rows[0][1]
    print(f"{INSTANCES} instances x 26 properties, EnumerateInstances response, best of {RUNS}")
    print(f"{'encoder':<20} {'ms':>8} {'instances/s':>12} {'KiB':>7} {'ratio':>6}")
    for name, seconds, size in rows:
        print(f"{name:<20} {seconds * 1000:8.1f} {INSTANCES / seconds:12.0f} {size / 1024:7.0f} "
              f"{baseline / seconds:5.1f}x")


if __name__ == "__main__":
    main()
