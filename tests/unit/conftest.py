"""Fixtures for the operations tests, over the small model of :mod:`tests.unit.model`, and
for the mapping tests, over a sample domain."""

import pytest

from providers.virt import DomainXML
from tests.mapping_checks import NAME
from tests.sample_domains import RICH_DOMAIN
from tests.unit.model import NS, OTHER_NS, SCHEMA, World
from virtcim.repository.compile import compile_mof_strings


@pytest.fixture(scope="session")
def model_repository():
    return compile_mof_strings([SCHEMA], [NS, OTHER_NS], aliases={"test": NS})


@pytest.fixture
def world(model_repository):
    built = World(model_repository)
    yield built
    built.dispatcher.close()


@pytest.fixture
def xml() -> DomainXML:
    """A rich sample domain: the mapping touches no libvirt, so one fixed name serves."""
    return DomainXML.from_string(RICH_DOMAIN.replace("NAME", NAME))
