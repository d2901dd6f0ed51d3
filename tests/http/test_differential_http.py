"""The pywbem_mock differential suite again, over real HTTP with pywbem's client.

Every case of :mod:`tests.differential_cases` runs here with ``conn``
a ``pywbem.WBEMConnection`` to a server on loopback serving the same model,
so codec and transport are compared with the reference too.
"""

from __future__ import annotations

import pytest
import pywbem

from tests.differential_cases import *  # noqa: F403 - the cases to run again
from tests.differential_cases import INSTANCES, NS, SCHEMA
from virtcim.http.server import HTTPServerGroup, Listener
from virtcim.operations import Dispatcher, register_static_instances
from virtcim.provider import ProviderRegistry
from virtcim.repository.compile import compile_mof_strings
from virtcim.service import CIMService

pytestmark = [pytest.mark.http]


@pytest.fixture(scope="module")
def http_connection():
    repository = compile_mof_strings([SCHEMA], [NS], instance_mof={NS: [INSTANCES]})
    registry = ProviderRegistry()
    register_static_instances(registry, repository)
    dispatcher = Dispatcher(repository, registry, host="virtcim.example")
    server = HTTPServerGroup([Listener("127.0.0.1", 0)], CIMService(dispatcher))
    server.start()
    yield pywbem.WBEMConnection(server.urls[0], default_namespace=NS, timeout=30)
    server.stop()
    dispatcher.close()


@pytest.fixture
def conn(http_connection):
    return http_connection
