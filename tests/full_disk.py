"""A real full file system for tests: a small tmpfs mounted for the test, filled, freed,
unmounted. Mounting needs root (as ``make test`` runs); elsewhere the test is skipped."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["SmallDisk", "small_disk"]

#: Enough for a state file and a users file, small enough to fill at once.
SIZE_KIB = 512
_CHUNK = b"\0" * 4096


class SmallDisk:
    """A mounted tmpfs at ``path`` that :meth:`fill` fills and :meth:`free` frees."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / ".filler"

    def fill(self) -> None:
        """Write until the file system has no byte left."""
        descriptor = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for _ in range(SIZE_KIB * 1024 // len(_CHUNK) + 1):
                os.write(descriptor, _CHUNK)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
        else:
            raise AssertionError(f"{self.path} did not fill up")
        finally:
            os.close(descriptor)

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)


@contextmanager
def small_disk(path: Path) -> Iterator[SmallDisk]:
    """A tmpfs of :data:`SIZE_KIB` KiB mounted at ``path`` (made), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_KIB}k,mode=0700",
                              "tmpfs", str(path)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)
