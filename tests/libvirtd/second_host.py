"""A second libvirtd on this machine, as a migration destination.

It runs in a network namespace of its own, reached from the first daemon's
namespace over a veth pair of link-local addresses, and in a mount namespace
of its own, where its configuration, sockets, state and logs are folders of
``state_dir`` bound over libvirt's usual paths: it sees nothing of the first
daemon, and the first sees nothing of it. It listens for libvirt clients on
TCP without authentication, on the namespace's address only; the namespace
has no default route and drops what does not come from the first end of the
pair, so nothing off this machine can reach it.

Requires root, iproute2, util-linux's ``unshare`` and libvirtd. Example::

    with SecondHost(Path("/tmp/virtcim-second-host")) as host:
        libvirt.open(host.uri)   # qemu+tcp://169.254.78.2/system
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import libvirt

#: libvirt's own folders, each replaced inside the mount namespace by one of ours.
_BOUND_FOLDERS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
#: Mounts the bound folders, then becomes the daemon; $1.. are the pairs of folders.
_MOUNT_AND_START = """
while [ $# -gt 0 ]; do mount --bind "$1" "$2"; shift 2; done
exec libvirtd --daemon --listen --pid-file /run/libvirt/libvirtd.pid \
    --config /etc/libvirt/libvirtd.conf
"""
_START_SECONDS = 60
_STOP_SECONDS = 10
_POLL_SECONDS = 0.25


class SecondHost:
    """The second daemon: :meth:`start` it, use :attr:`uri`, :meth:`stop` it."""

    def __init__(self, state_dir: Path, *, namespace: str = "virtcim-dest",
                 links: tuple[str, str] = ("vcimdst0", "vcimdst1"),
                 addresses: tuple[str, str] = ("169.254.78.1", "169.254.78.2")) -> None:
        self.state_dir = state_dir
        self.namespace = namespace
        self.local_link, self.remote_link = links
        self.local_address, self.address = addresses

    @property
    def uri(self) -> str:
        """How the first namespace reaches the second daemon."""
        return f"qemu+tcp://{self.address}/system"

    def __enter__(self) -> SecondHost:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Make the namespaces and the link, start the daemon, wait until it answers."""
        self.stop()
        self._write_configuration()
        try:
            self._make_network()
            self._start_daemon()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the daemon and whatever else runs in its namespace; remove the link and
        the namespace. Does nothing when there is nothing to stop."""
        if not Path("/run/netns", self.namespace).exists():
            return
        for pid in self._pids_inside():
            _terminate(pid)
        subprocess.run(["ip", "link", "del", self.local_link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The daemon and all else in its namespace stopped (SIGSTOP) for the block: it
        keeps its sockets and answers nothing, as a hung daemon does."""
        pids = self._pids_inside()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    # -- start ------------------------------------------------------------------------------

    def _write_configuration(self) -> None:
        for folder in _BOUND_FOLDERS:
            (self.state_dir / folder).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.state_dir / "run")
        (self.state_dir / "run").mkdir()
        (self.state_dir / "etc" / "libvirtd.conf").write_text(_settings({
            "listen_tls": 0, "listen_tcp": 1, "listen_addr": self.address,
            "auth_tcp": "none", "auth_unix_rw": "none", "auth_unix_ro": "none",
            # Two daemons of one host UUID refuse to migrate to each other.
            "host_uuid": str(uuid.uuid4()),
            "log_outputs": "3:file:/var/log/libvirt/libvirtd.log",
        }))
        (self.state_dir / "etc" / "qemu.conf").write_text(_settings({
            "user": "root", "group": "root", "security_driver": "none",
            "cgroup_controllers": [], "stdio_handler": "file",
            # Where the source's QEMU sends the guest's memory.
            "migration_host": self.address, "migration_address": self.address,
        }))

    def _make_network(self) -> None:
        inside = ["ip", "-n", self.namespace]
        for command in (
            ["ip", "netns", "add", self.namespace],
            ["ip", "link", "add", self.local_link, "type", "veth", "peer", "name",
             self.remote_link],
            ["ip", "link", "set", self.remote_link, "netns", self.namespace],
            ["ip", "addr", "add", f"{self.local_address}/30", "dev", self.local_link],
            ["ip", "link", "set", self.local_link, "up"],
            [*inside, "link", "set", "lo", "up"],
            [*inside, "addr", "add", f"{self.address}/30", "dev", self.remote_link],
            [*inside, "link", "set", self.remote_link, "up"],
        ):
            subprocess.run(command, check=True, capture_output=True)
        if shutil.which("iptables"):
            subprocess.run(["ip", "netns", "exec", self.namespace, "iptables", "-A", "INPUT",
                            "-i", self.remote_link, "!", "-s", self.local_address, "-j", "DROP"],
                           check=False, capture_output=True)  # fmt: skip

    def _start_daemon(self) -> None:
        pairs = [str(part) for folder, target in _BOUND_FOLDERS.items()
                 for part in (self.state_dir / folder, target)]  # fmt: skip
        log = (self.state_dir / "start.log").open("ab")
        with log:
            subprocess.run(
                ["ip", "netns", "exec", self.namespace, "unshare", "--mount",
                 "--propagation", "private", "sh", "-ec", _MOUNT_AND_START, "sh", *pairs],
                check=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + _START_SECONDS
        while True:
            try:
                libvirt.open(self.uri).close()
                return
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the second libvirtd did not answer at {self.uri}; "
                                       f"see {self.state_dir}/log/libvirtd.log") from None
                time.sleep(_POLL_SECONDS)

    # -- stop -------------------------------------------------------------------------------

    def _pids_inside(self) -> list[int]:
        listed = subprocess.run(["ip", "netns", "pids", self.namespace], capture_output=True,
                                text=True, check=False)  # fmt: skip
        return [int(pid) for pid in listed.stdout.split() if pid.isdigit()]


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL if ``pid`` still runs after a while."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_SECONDS
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(_POLL_SECONDS)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _settings(values: dict[str, object]) -> str:
    """libvirt's configuration syntax: ``key = "text"``, ``key = 1``, ``key = [ ]``."""
    def value(item: object) -> str:
        if isinstance(item, int):
            return str(item)
        if isinstance(item, list):
            return "[ " + ", ".join(value(part) for part in item) + " ]"
        return '"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(f"{key} = {value(item)}\n" for key, item in values.items())
