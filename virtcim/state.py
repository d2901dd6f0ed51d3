"""What outlives the process: one SQLite file in the state folder.

Indication filters, permanent listener destinations, the subscriptions
between them, the indication service's settings and jobs are rows of
JSON; each change is one SQLite transaction, so a crash leaves the file
as it was before or after the change, never between. A change the file
cannot take (a full disk, a folder made read-only) is rolled back and
raised as ``CIM_ERR_FAILED`` naming the state folder and the cause; callers
change what they hold in memory only after the store took the change.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pywbem import CIM_ERR_FAILED, CIMError

__all__ = ["StateStore"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
)
"""


class StateStore:
    """Records by kind (``filter``, ``destination``, ``subscription``, ``setting``, ``job``)
    and name.

    ``path`` ``None`` keeps nothing (every record is transient).
    """

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._folder = path.parent if path is not None else None
        if path is not None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)

    def records(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each record of ``kind`` as (name, body), in the order they were written."""
        if self._db is None:
            return iter(())
        with self._lock:
            rows = self._db.execute(
                "SELECT name, body FROM records WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        return ((name, json.loads(body)) for name, body in rows)

    def put(self, kind: str, name: str, body: dict[str, Any]) -> None:
        """Write (or replace) one record."""
        if self._db is None:
            return
        text = json.dumps(body, sort_keys=True)
        with self._writing(f"store the {kind} {name!r}") as db:
            db.execute("INSERT OR REPLACE INTO records (kind, name, body) VALUES (?, ?, ?)",
                       (kind, name, text))

    def delete(self, *records: tuple[str, str]) -> None:
        """Remove records, given as (kind, name), in one transaction."""
        if self._db is None or not records:
            return
        names = ", ".join(f"{kind} {name!r}" for kind, name in records)
        with self._writing(f"remove the {names}") as db:
            db.executemany("DELETE FROM records WHERE kind = ? AND name = ?", records)

    @contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """One transaction on the file, committed or rolled back whole."""
        with self._lock:
            if self._db is None:
                raise CIMError(CIM_ERR_FAILED, f"cannot {what}: the state store is closed")
            try:
                with self._db:
                    yield self._db
            except (sqlite3.Error, OSError) as error:
                log.error("cannot %s in the state folder %s: %s", what, self._folder, error)
                raise CIMError(CIM_ERR_FAILED, f"cannot {what} in the state folder "
                                               f"{self._folder}: {error}") from error

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
                self._db = None
