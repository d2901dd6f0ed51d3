"""Association traversal from one guest costs the same however many guests the host has.

``Associators`` of one guest (its devices, settings, capabilities, host...)
and ``AssociatorNames`` are timed over a test-driver node of 10 guests and
one of 1,000; the baseline is the 10-guest figure. Goal: the 1,000-guest
ratio near 1 (no hidden enumeration of every guest).

    .venv/bin/python benchmarks/associations.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _common import (
    Row,
    best_of,
    instance_name_param,
    intrinsic,
    post,
    print_table,
    server,
    write_node,
)

SMALL, LARGE = 10, 1000
#: "the same": allow noise of a quarter.
GOAL = 1.25


def traverse(folder: Path, guests: int) -> dict[str, float]:
    uri = write_node(folder, guests)
    guest = instance_name_param("ObjectName", "Test_ComputerSystem",
                                CreationClassName="Test_ComputerSystem", Name="virtcim-bench-1")
    times = {}
    with server(uri, folder / "state") as running:
        http = running.connection()
        for operation in ("Associators", "AssociatorNames"):
            body = intrinsic(operation, guest)
            post(http, operation, body)
            times[operation] = best_of(20, lambda body=body, op=operation: post(http, op, body))
    return times


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        small = traverse(Path(tmp), SMALL)
        large = traverse(Path(tmp), LARGE)
    rows = []
    for operation in small:
        rows.append(Row(f"{operation} of one guest", SMALL, small[operation]))
        rows.append(Row(f"{operation} of one guest", LARGE, large[operation], small[operation],
                        goal=GOAL, note=f"(baseline: the same at {SMALL} guests)"))
    print_table("Association traversal over HTTP", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
