"""Fixtures for the operations tests, over the small model of :mod:`tests.unit.model`."""

import pytest

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
