"""Shared pieces of the benchmarks: test-driver nodes, a server process, timing, the table.

Every benchmark compares virtcim against a baseline measured in the same
run, usually raw libvirt-python listing the same guests: ``listAllDomains``
then ``XMLDesc`` and ``info`` per guest, what any CIM answer about guests
must at least cost.

A virtcim server runs as a subprocess (``virtcim serve``) on a random
loopback port; requests are posted with ``http.client`` and the response is
read whole, so the client's own cost is reading bytes, not parsing CIM-XML.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import libvirt

ROOT = Path(__file__).resolve().parents[1]
VIRTCIM = ROOT / ".venv" / "bin" / "virtcim"
#: The checkout whose code the servers run: this one, or ``VIRTCIM_CHECKOUT`` to measure
#: another version (before and after a change) with the same benchmark. Named on the
#: module path, as the virtual environment's editable install may point elsewhere.
CHECKOUT = Path(os.environ.get("VIRTCIM_CHECKOUT", ROOT)).resolve()


def server_env() -> dict[str, str]:
    """The environment of a server process: the code of :data:`CHECKOUT`."""
    return {**os.environ, "PYTHONPATH": str(CHECKOUT)}

#: Guest counts of the scaling rows; ``--quick`` stops before the last.
SCALES = (10, 100, 1000, 10000)
QUICK_SCALES = (10, 100, 1000)


def scales(argv: list[str] | None = None) -> tuple[int, ...]:
    """The guest counts asked for on the command line (``--quick``, ``--guests N...``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-guest rows")
    parser.add_argument("--guests", type=int, nargs="+", help="these guest counts only")
    args = parser.parse_args(argv)
    if args.guests:
        return tuple(args.guests)
    quick = args.quick or os.environ.get("VIRTCIM_BENCH_QUICK")
    return QUICK_SCALES if quick else SCALES


# --- guests ----------------------------------------------------------------------------------

_TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
#: libvirt's VIR_DOMAIN_RUNNING and VIR_DOMAIN_SHUTOFF, as the test driver's runstate.
_RUNNING, _SHUTOFF = 1, 5


def guest_xml(number: int, domain_type: str = "test", extra: str = "") -> str:
    """A small guest: two disks, one NIC, a console; ``extra`` goes inside ``<domain>``."""
    mac = f"52:54:00:{number >> 16 & 255:02x}:{number >> 8 & 255:02x}:{number & 255:02x}"
    return f"""<domain type='{domain_type}' xmlns:test='{_TEST_NS}'>
  <name>virtcim-bench-{number}</name>
  <uuid>6c0e2b1a-0000-4000-8000-{number:012d}</uuid>
  <memory unit='MiB'>64</memory><currentMemory unit='MiB'>64</currentMemory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='/var/lib/virtcim-bench/{number}-a.img'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='/var/lib/virtcim-bench/{number}-b.img'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='network'><mac address='{mac}'/><source network='default'/></interface>
    <console type='pty'/>
  </devices>{extra}
</domain>"""


def write_node(folder: Path, guests: int) -> str:
    """A test-driver node of ``guests`` guests, every other one running; its URI."""
    path = folder / f"node-{guests}.xml"
    if not path.exists():
        domains = [guest_xml(n, extra=f"<test:runstate>{_RUNNING if n % 2 else _SHUTOFF}"
                                      "</test:runstate>")
                   for n in range(guests)]
        path.write_text("<node>\n" + "\n".join(domains) + "\n</node>\n")
    return f"test://{path}"


def raw_listing(conn: libvirt.virConnect) -> int:
    """The baseline: what raw libvirt-python does to list every guest with its state."""
    domains = conn.listAllDomains()
    for domain in domains:
        domain.XMLDesc(0)
        domain.info()
    return len(domains)


# --- timing ----------------------------------------------------------------------------------


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings of ``work()``, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def median_ms(work: Callable[[], object], times: int) -> float:
    """The median of ``times`` timings of ``work()``, each timed alone, in milliseconds."""
    timings = []
    for _ in range(times):
        began = time.perf_counter()
        work()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000


def runs_for(guests: int) -> int:
    """Fewer repetitions as the work grows, so the whole run stays in minutes."""
    return 7 if guests <= 100 else 5 if guests <= 1000 else 2


# --- a server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A ``virtcim serve`` subprocess on loopback."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def connection(self, timeout: float = 600) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def server_ms(self, method: str) -> list[float]:
        """What the server logged as the time it spent on each ``method`` request, in order:
        from reading the request line to writing the last byte of the reply."""
        found = re.finditer(rf"method='{method}' .* duration_ms=([0-9.]+)",
                            self.log_path.read_text())
        return [float(match.group(1)) for match in found]

    def rss_mib(self) -> float:
        """Resident memory of the server process now."""
        return _status_kib(self.process.pid, "VmRSS") / 1024

    def peak_mib(self) -> float:
        """The highest resident memory the server process reached."""
        return _status_kib(self.process.pid, "VmHWM") / 1024

    def reset_peak(self) -> None:
        """Start measuring the peak afresh (Linux: writing 5 to clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


@contextmanager
def server(uri: str, state_dir: Path, *extra: str, log_requests: bool = False
           ) -> Iterator[Server]:
    """``virtcim serve --uri uri`` on a free port until the block ends.

    With ``log_requests`` the server logs each request with the time it
    spent on it (:meth:`Server.server_ms`), which costs it a little per request.
    """
    port = free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(VIRTCIM), "serve", "--uri", uri, "--auth", "none", "--http-port", str(port),
             "--https-port", "off", "--state-dir", str(state_dir),
             "--log-level", "info" if log_requests else "warning", *extra],
            cwd=CHECKOUT, env=server_env(), stderr=log)
    try:
        wait_for(port, process)
        yield Server(process, port, log_path)
    finally:
        process.terminate()
        process.wait(timeout=60)


def wait_for(port: int, process: subprocess.Popen[bytes], deadline: float = 120.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"no server on port {port} after {deadline} s")


# --- CIM-XML requests ------------------------------------------------------------------------

_ENVELOPE = ('<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
             '<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>{call}</SIMPLEREQ></MESSAGE></CIM>')
_NAMESPACE = ('<LOCALNAMESPACEPATH><NAMESPACE NAME="root"></NAMESPACE>'
              '<NAMESPACE NAME="{0}"></NAMESPACE></LOCALNAMESPACEPATH>')


def intrinsic(name: str, params: str, namespace: str = "virt") -> bytes:
    """The body of an intrinsic call ``name`` in ``root/<namespace>`` with IPARAMVALUEs ``params``."""
    call = f'<IMETHODCALL NAME="{name}">{_NAMESPACE.format(namespace)}{params}</IMETHODCALL>'
    return _ENVELOPE.format(call=call).encode()


def class_param(name: str, classname: str) -> str:
    return f'<IPARAMVALUE NAME="{name}"><CLASSNAME NAME="{classname}"/></IPARAMVALUE>'


def value_param(name: str, value: str) -> str:
    return f'<IPARAMVALUE NAME="{name}"><VALUE>{value}</VALUE></IPARAMVALUE>'


def instance_name_param(name: str, classname: str, **keys: str) -> str:
    bindings = "".join(f'<KEYBINDING NAME="{key}"><KEYVALUE>{value}</KEYVALUE></KEYBINDING>'
                       for key, value in keys.items())
    return (f'<IPARAMVALUE NAME="{name}"><INSTANCENAME CLASSNAME="{classname}">{bindings}'
            '</INSTANCENAME></IPARAMVALUE>')


def post(conn: http.client.HTTPConnection, method: str, body: bytes,
         namespace: str = "root/virt", headers: dict[str, str] | None = None) -> bytes:
    """One CIM operation; its whole response body. Raises on HTTP or CIM errors."""
    conn.request("POST", "/cimom", body, {
        "Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall",
        "CIMMethod": method, "CIMObject": namespace, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200 or b"<ERROR" in data[:4096] or b"<ERROR" in data[-4096:]:
        raise RuntimeError(f"{method}: HTTP {response.status}: {data[:400]!r}")
    return data


# --- the table -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table; ``goal`` is the largest ratio (or value) that passes."""

    operation: str
    guests: int | str
    virtcim_ms: float
    baseline_ms: float | None = None
    memory: str = ""
    goal: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_ms is None or self.baseline_ms == 0:
            return None
        return self.virtcim_ms / self.baseline_ms

    @property
    def verdict(self) -> str:
        ratio = self.ratio
        if self.goal is None or ratio is None:
            return self.note
        passed = "ok" if ratio <= self.goal else "MISSED"
        return f"{passed} (goal <= {self.goal:g}x){' ' + self.note if self.note else ''}"


def _milliseconds(value: float) -> str:
    """Three significant digits down to a microsecond (a GetInstance takes well under 1 ms)."""
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def print_table(title: str, rows: list[Row]) -> None:
    print(title)
    print(f"{'operation':<44} {'guests':>7} {'virtcim ms':>11} {'baseline ms':>12} "
          f"{'ratio':>7} {'memory':>14}  goal")
    for row in rows:
        baseline = "" if row.baseline_ms is None else _milliseconds(row.baseline_ms)
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        print(f"{row.operation:<44} {row.guests!s:>7} {_milliseconds(row.virtcim_ms):>11} {baseline:>12} "
              f"{ratio:>7} {row.memory:>14}  {row.verdict}")
    sys.stdout.flush()
