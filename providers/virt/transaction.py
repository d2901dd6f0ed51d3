"""Undo logs: a change made of several libvirt calls is undone as a whole when one fails.

:class:`Transaction` records how to undo each change made through the
domains it tracks and, when the block fails, undoes them and redefines the
original XML, so a failing multi-step change leaves libvirt as it was. It
needs of domains and of the connection only the small protocols below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from pywbem import CIM_ERR_NOT_FOUND, CIMError

from providers.virt.domainxml import DomainXML

__all__ = ["Definitions", "Journaled", "Transaction"]

_log = logging.getLogger(__name__)


class Journaled(Protocol):
    """A domain whose changes a :class:`Transaction` can undo."""

    name: str
    uuid: str

    def is_persistent(self) -> bool: ...

    def config(self) -> DomainXML: ...

    def undefine(self) -> None: ...

    def journal_to(self, journal: Transaction | None) -> None: ...


D = TypeVar("D", bound=Journaled)
D_co = TypeVar("D_co", bound=Journaled, covariant=True)


class Definitions(Protocol[D_co]):
    """What a :class:`Transaction` needs of the connection: defining and finding domains."""

    uri: str

    def define(self, xml: DomainXML) -> D_co: ...

    def domain(self, name: str) -> D_co: ...

    def domain_by_uuid(self, uuid: str) -> D_co: ...


class Transaction(Generic[D]):
    """Undo log for a change made of several libvirt calls.

    Used as a context manager. Domains passed to :meth:`track` record how to
    undo each change made through them; :meth:`define` records how to undo a
    definition. When the block raises, the undo steps run newest first: live
    changes are reversed (where libvirt can: attach/detach, memory, vCPUs,
    start/destroy, pause/resume), then each tracked domain's original
    persistent XML is redefined, and domains defined inside the block are
    undefined. The exception is then re-raised. Undo failures are logged,
    never raised over the original error.
    """

    def __init__(self, hypervisor: Definitions[D]) -> None:
        self._hypervisor = hypervisor
        self._undo: list[tuple[str, Callable[[], Any]]] = []
        self._tracked: list[D] = []

    def __enter__(self) -> Transaction[D]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is not None:
                self.rollback()
        finally:
            for domain in self._tracked:
                domain.journal_to(None)

    def record(self, description: str, undo: Callable[[], Any]) -> None:
        """Add an undo step (run in reverse order of recording on failure)."""
        self._undo.append((description, undo))

    def track(self, domain: D) -> D:
        """Snapshot ``domain``'s definition; its changes from now on are undone on failure."""
        if domain.is_persistent():
            original = domain.config().to_string()
            self.record(
                f"restore the definition of guest {domain.name!r}",
                lambda: self._hypervisor.define(DomainXML.from_string(original)),
            )
        else:
            self.record(
                f"make guest {domain.name!r} transient again",
                lambda: self._undefine_if_persistent(domain.uuid),
            )
        domain.journal_to(self)
        self._tracked.append(domain)
        return domain

    def define(self, xml: DomainXML) -> D:
        """Define ``xml``; on failure the previous definition (or none) is restored."""
        existing = self._existing(xml)
        if existing is not None:
            self.track(existing)
        domain = self._hypervisor.define(xml)
        if existing is None:
            self.record(
                f"undefine guest {domain.name!r}",
                lambda: self._undefine_if_persistent(domain.uuid),
            )
        return self.track_new(domain)

    def track_new(self, domain: D) -> D:
        """Let ``domain``'s later changes be undone without snapshotting its XML."""
        domain.journal_to(self)
        self._tracked.append(domain)
        return domain

    def rollback(self) -> None:
        """Run every undo step, newest first; keep going when one fails."""
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except Exception:
                _log.exception("rollback on %s: could not %s", self._hypervisor.uri, description)

    def _existing(self, xml: DomainXML) -> D | None:
        try:
            if xml.uuid:
                return self._hypervisor.domain_by_uuid(xml.uuid)
            return self._hypervisor.domain(xml.name)
        except CIMError as error:
            if error.status_code == CIM_ERR_NOT_FOUND:
                return None
            raise

    def _undefine_if_persistent(self, uuid: str) -> None:
        domain = self._hypervisor.domain_by_uuid(uuid)
        if domain.is_persistent():
            domain.undefine()
