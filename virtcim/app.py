"""The application: settings in, a serving WBEM server out.

This is the one module of :mod:`virtcim` that imports :mod:`providers`: it
opens the hypervisors, compiles (or loads from cache) the class repository,
registers the interop and model providers, and puts the dispatcher behind
the HTTP listeners.
"""

from __future__ import annotations

import gc
import logging
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from providers import register_providers
from providers.classes import build_repository
from providers.indications import LibvirtIndications
from providers.virt.connection import Hypervisor
from virtcim.authorization import Authorizer
from virtcim.config import ConfigError, Settings
from virtcim.http.server import HTTPServerGroup
from virtcim.http.tls import listener_context
from virtcim.indications import IndicationBroker, register_indications
from virtcim.interop import AuthenticationMechanism, ProfileRegistry, register_interop
from virtcim.job_providers import register_jobs
from virtcim.jobs import JobRegistry
from virtcim.operations.dispatcher import Dispatcher
from virtcim.operations.pull import PullSettings
from virtcim.operations.static import register_static_instances
from virtcim.provider import ProviderRegistry, RequestContext
from virtcim.repository.schema import Repository
from virtcim.service import CIMService
from virtcim.state import StateStore

__all__ = ["INTEROP_NAMESPACE", "MODEL_NAMESPACE", "Application", "build_application", "serve"]

log = logging.getLogger(__name__)

MODEL_NAMESPACE = "root/virt"
INTEROP_NAMESPACE = "root/interop"


@dataclass
class Application:
    """A built server: start it in the background, or serve until a signal."""

    settings: Settings
    hypervisors: list[Hypervisor]
    repository: Repository
    dispatcher: Dispatcher
    server: HTTPServerGroup
    broker: IndicationBroker
    libvirt_indications: LibvirtIndications
    jobs: JobRegistry
    state: StateStore

    def start(self) -> None:
        self.libvirt_indications.start()
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self._close()

    def serve_forever(self, load_settings: Callable[[], Settings] | None = None) -> int:
        """Serve until SIGTERM or SIGINT; on SIGHUP, :meth:`reload` what ``load_settings``
        reads."""
        reload = None
        if load_settings is not None:
            def reload() -> None:
                self.reload(load_settings)
        self.libvirt_indications.start()
        try:
            return self.server.serve_forever(reload)
        finally:
            self._close()

    def _close(self) -> None:
        self.libvirt_indications.stop()
        self.jobs.close()
        self.broker.close()
        self.state.close()
        self.dispatcher.close()
        for hypervisor in self.hypervisors:
            hypervisor.close()


    def reload(self, load_settings: Callable[[], Settings]) -> None:
        """Take up the roles and the TLS certificate the configuration names now,
        connections staying open (the users file is read again whenever it changes).
        Settings that need a restart are reported; nothing changes when the
        configuration cannot be read."""
        try:
            settings = load_settings()
            if settings.cert is not None and self.settings.cert is not None:
                self.server.reload_certificates(settings.cert, settings.key)
        except ConfigError as error:
            log.error("configuration not reloaded: %s", error)
            return
        self.dispatcher.authorizer = Authorizer(settings.roles, self.settings.read_only)
        restart = [name for name in _RESTART_SETTINGS
                   if getattr(settings, name) != getattr(self.settings, name)]
        if restart:
            log.warning("configuration reloaded, but %s take effect at the next start",
                        ", ".join(restart))
        log.info("configuration reloaded")


#: What a reload cannot change in a running server.
_RESTART_SETTINGS = ("uris", "bind", "http_port", "https_port", "auth", "users", "client_ca", "listener_ca",
                     "read_only", "state_dir", "workers")


def build_application(settings: Settings) -> Application:
    """Everything ``settings`` describe, bound to its ports but not yet serving.

    Raises :class:`ConfigError` for anything that prevents starting.
    """
    settings = settings.checked()
    hypervisors = [Hypervisor(uri, read_only=settings.read_only) for uri in settings.uris or [""]]
    repository = build_repository(hypervisors, cache_dir=_cache_dir(settings))
    registry = ProviderRegistry()
    profiles = ProfileRegistry(INTEROP_NAMESPACE)
    pull = PullSettings()
    host = socket.getfqdn()
    register_static_instances(registry, repository)
    register_interop(
        registry, repository, profiles, host=host, pull=pull,
        auth_mechanisms=[_auth_mechanism(settings)],
    )
    register_providers(registry, repository, hypervisors, profiles)
    authorizer = Authorizer(settings.roles, settings.read_only)
    if settings.auth != "none" and not authorizer.configured:
        log.warning("no [roles] configured: every authenticated user has full access")
    state = _state_store(settings)
    broker = IndicationBroker(repository, INTEROP_NAMESPACE, host, state,
                              tls=listener_context(settings.listener_ca))
    register_indications(registry, profiles, broker)
    jobs = JobRegistry(repository, state, broker.publish)
    register_jobs(registry, repository, MODEL_NAMESPACE, jobs)
    dispatcher = Dispatcher(repository, registry, host=host, pull=pull, jobs=jobs,
                            authorizer=authorizer)

    def context(namespace: str) -> RequestContext:
        return RequestContext(namespace, repository, dispatcher, host=host)

    libvirt_indications = LibvirtIndications(hypervisors, broker, context)
    server = HTTPServerGroup.from_settings(settings, CIMService(dispatcher))
    return Application(settings, hypervisors, repository, dispatcher, server, broker,
                       libvirt_indications, jobs, state)


def serve(settings: Settings, load_settings: Callable[[], Settings] | None = None) -> int:
    """The ``virtcim serve`` command: run until SIGTERM or SIGINT; SIGHUP reloads what
    ``load_settings`` reads (see :meth:`Application.reload`)."""
    try:
        app = build_application(settings)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2
    log.info("virtcim serving %s on %s", ", ".join(h.uri for h in app.hypervisors),
             ", ".join(app.server.urls))
    _tune_collector()
    return app.serve_forever(load_settings)


def _tune_collector() -> None:
    """Keep the garbage collector off what a serving process does not need collected.

    The compiled repository and everything built at start live as long as the
    process: frozen, the collector stops walking their ~10^5 objects on each
    full collection (a sixth of a cold enumeration's time). Requests build
    and drop many short-lived objects (a page of a pulled enumeration holds
    500 instances until it is written); looked at every 700 allocations, they
    outlive a few young collections and reach the oldest generation, whose
    collections walk the whole heap: pulling 10,000 guests in pages of 500
    spent 0.7 s of 4.3 s there. Looked at every 10,000, they are gone first.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _cache_dir(settings: Settings) -> Path | None:
    """Where the compiled repository is cached (made on first start); ``None`` if it cannot be.

    Compiling the MOF takes seconds; loading the cached result well under one.
    """
    folder = settings.state_dir / "cache"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        log.warning("no repository cache in %s (%s): every start compiles the MOF",
                    folder, error.strerror)
        return None
    return folder


def _state_store(settings: Settings) -> StateStore:
    """The state folder's store of subscriptions and jobs; none if it cannot be made."""
    path = settings.state_dir / "state.sqlite"
    try:
        return StateStore(path)
    except (OSError, sqlite3.Error) as error:
        log.warning("subscriptions and jobs cannot be kept in %s (%s): they end with the process",
                    path, error)
        return StateStore(None)


def _auth_mechanism(settings: Settings) -> AuthenticationMechanism:
    if settings.auth == "none":
        return AuthenticationMechanism.NONE
    return AuthenticationMechanism.BASIC
