"""Suite-wide wiring: which tests need a real libvirtd, and where to find it.

`make test` starts a libvirtd with QEMU and exports VIRTCIM_TEST_QEMU_URI.
Without that variable (pytest run by hand) the tests that need the daemon are
skipped, each with a reason saying how to run them.
"""

import os
import tempfile
from pathlib import Path

import pytest

from providers.classes import build_repository
from virtcim.repository.schema import Repository

QEMU_URI_VARIABLE = "VIRTCIM_TEST_QEMU_URI"
LIBVIRTD_TEST_DIR = Path(__file__).parent / "libvirtd"
NO_DAEMON_REASON = (
    f"needs a libvirtd with QEMU: set {QEMU_URI_VARIABLE} "
    "(`make test` starts one and sets it to qemu:///system)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/libvirtd, and skip the marked ones when no daemon is set."""
    daemon_configured = bool(os.environ.get(QEMU_URI_VARIABLE))
    for item in items:
        if LIBVIRTD_TEST_DIR in item.path.parents:
            item.add_marker(pytest.mark.libvirtd)
        if not daemon_configured and item.get_closest_marker("libvirtd"):
            item.add_marker(pytest.mark.skip(reason=NO_DAEMON_REASON))


@pytest.fixture(scope="session")
def qemu_uri() -> str:
    """The libvirt URI of the QEMU daemon the real-hypervisor tests use."""
    uri = os.environ.get(QEMU_URI_VARIABLE)
    if not uri:
        pytest.skip(NO_DAEMON_REASON)
    return uri


@pytest.fixture(scope="session")
def repository() -> Repository:
    """The model's classes (KVM, Xen, LXC and Test leaves), compiled once per session.

    The compiled form is cached in the temporary folder, keyed by the MOF's
    content, so later runs start warm.
    """
    return build_repository([], Path(tempfile.gettempdir()) / "virtcim-test-repository")
