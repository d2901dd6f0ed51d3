"""The worked provider example in README.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMClassName, CIMError, CIMInstanceName

from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, ParamValue
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry
from virtcim.repository.compile import SCHEMA_DIR, load_repository

README = Path(__file__).resolve().parents[2] / "README.md"


def example_blocks() -> tuple[str, str]:
    section = README.read_text().split("## Writing a provider", 1)[1].split("\n## ", 1)[0]
    mof = re.search(r"```mof\n(.*?)```", section, re.S).group(1)
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return mof, python


@pytest.fixture(scope="module")
def dispatcher():
    mof, python = example_blocks()
    repository = load_repository(SCHEMA_DIR, namespaces=["root/virt"], extra_mof=[mof])
    registry = ProviderRegistry()
    exec(compile(python, str(README), "exec"), {"registry": registry})
    built = Dispatcher(repository, registry)
    yield built
    built.close()


def greeting(name: str) -> CIMInstanceName:
    return CIMInstanceName("Demo_Greeting", {"Name": name}, namespace="root/virt")


def test_the_example_provider_enumerates_and_gets(dispatcher):
    found = list(dispatcher.intrinsic(IntrinsicCall("1", "EnumerateInstances", "root/virt",
                                                    {"ClassName": CIMClassName("Demo_Greeting")})))
    assert [(inst["Name"], inst["Text"]) for inst in found] == [("en", "hello")]
    with pytest.raises(CIMError) as error:
        dispatcher.intrinsic(IntrinsicCall("2", "GetInstance", "root/virt",
                                           {"InstanceName": greeting("fr")}))
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_the_example_method_gets_typed_parameters(dispatcher):
    call = ExtrinsicCall("3", "Shout", greeting("en"), {"Times": ParamValue("Times", "2")})
    result = dispatcher.extrinsic(call)
    assert result.return_value == 0
    assert result.out_params["Echo"] == "HELLO HELLO"
