"""Pulled enumeration of many guests: time to the first page, and the server's memory.

A test-driver node of 10,000 guests (``--quick``: 1,000) is served by
``virtcim serve``. Measured in the same run:

* ``EnumerateInstances CIM_ComputerSystem`` whole (streamed), the reference;
* ``OpenEnumerateInstances`` with MaxObjectCount 500: time until that first
  page arrived (goal: under 5% of the whole enumeration), then the
  ``PullInstancesWithPath`` pages of 500 to the end;
* the server's resident memory when idle (started and connected, no guest
  listed: the test driver holds its node inside the server process) and its
  peak during the pulls and during the plain enumeration (goal: at most
  50 MB above idle).

    .venv/bin/python benchmarks/pull.py [--quick] [--guests N...]
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    Row,
    Server,
    best_of,
    class_param,
    intrinsic,
    post,
    print_table,
    server,
    value_param,
    write_node,
)

PAGE = 500
FIRST_PAGE_GOAL = 0.05
MEMORY_GOAL_MB = 50
_CONTEXT = re.compile(rb'<PARAMVALUE NAME="EnumerationContext"[^>]*><VALUE>([^<]*)</VALUE>')
_END = re.compile(rb'<PARAMVALUE NAME="EndOfSequence"[^>]*><VALUE>TRUE</VALUE>')


def open_enumeration(running: Server) -> tuple[float, bytes]:
    """Open the enumeration; milliseconds to the first page, and that page."""
    http = running.connection()
    body = intrinsic("OpenEnumerateInstances", class_param("ClassName", "CIM_ComputerSystem")
                     + value_param("MaxObjectCount", str(PAGE)))
    start = time.perf_counter()
    page = post(http, "OpenEnumerateInstances", body)
    return (time.perf_counter() - start) * 1000, page


def pull_to_end(running: Server, page: bytes) -> int:
    http = running.connection()
    pages = 1
    while not _END.search(page):
        context = _CONTEXT.search(page)
        if context is None:
            raise RuntimeError(f"no enumeration context in {page[-400:]!r}")
        body = intrinsic("PullInstancesWithPath",
                         value_param("EnumerationContext", context.group(1).decode())
                         + value_param("MaxObjectCount", str(PAGE)))
        page = post(http, "PullInstancesWithPath", body)
        pages += 1
    return pages


def measure(folder: Path, guests: int) -> list[Row]:
    uri = write_node(folder, guests)
    enumerate_body = intrinsic("EnumerateInstances", class_param("ClassName", "CIM_ComputerSystem"))
    with server(uri, folder / "state") as running:
        http = running.connection()
        # Idle: connected (the test driver keeps its node in this process), nothing listed.
        post(http, "EnumerateInstances",
             intrinsic("EnumerateInstances", class_param("ClassName", "Test_HostSystem")))
        idle = running.rss_mib()
        running.reset_peak()
        first_ms, page = open_enumeration(running)
        start = time.perf_counter()
        pages = pull_to_end(running, page)
        pull_ms = first_ms + (time.perf_counter() - start) * 1000
        pull_peak = running.peak_mib() - idle
        running.reset_peak()
        whole_ms = best_of(2, lambda: post(http, "EnumerateInstances", enumerate_body))
        enumerate_peak = running.peak_mib() - idle
        # Again with the domain cache warm, as the whole enumeration above was.
        first_again, page = open_enumeration(running)
        start = time.perf_counter()
        pull_to_end(running, page)
        warm_pull_ms = first_again + (time.perf_counter() - start) * 1000
    first = min(first_ms, first_again)
    return [
        Row("EnumerateInstances CIM_ComputerSystem", guests, whole_ms, None,
            f"+{enumerate_peak:.0f} MiB peak", note=f"idle {idle:.0f} MiB"),
        Row("OpenEnumerateInstances: first page of 500", guests, first, whole_ms,
            goal=FIRST_PAGE_GOAL, note="(baseline: whole EnumerateInstances)"),
        Row(f"Open + Pull to the end ({pages} pages), cold", guests, pull_ms, whole_ms,
            f"+{pull_peak:.0f} MiB peak",
            note=("ok" if pull_peak <= MEMORY_GOAL_MB else "MISSED")
            + f" (memory goal <= +{MEMORY_GOAL_MB} MB)"),
        Row(f"Open + Pull to the end ({pages} pages), warm", guests, warm_pull_ms, whole_ms),
    ]


def main() -> int:
    quick = "--quick" in sys.argv[1:] or os.environ.get("VIRTCIM_BENCH_QUICK")
    counts = [int(arg) for arg in sys.argv[1:] if arg.isdigit()] or [1000 if quick else 10000]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for guests in counts:
            rows.extend(measure(Path(tmp), guests))
    print_table("Pulled enumeration, MaxObjectCount 500, over HTTP", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
