"""View classes: subclasses that show, under their own name, objects a superclass shows.

A request that names the superclass passes over them (each object once);
one that names the view reaches it. Also: keys a client adds to a source
path that its class does not declare are ignored by a traversal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pywbem import CIMClassName, CIMInstanceName

from tests.unit.model import QUALIFIERS
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.operations import Dispatcher
from virtcim.provider import AssociationProvider, InstanceProvider, ProviderRegistry
from virtcim.repository.compile import compile_mof_strings

NS = "root/views"

SCHEMA = QUALIFIERS + """
class V_Profile {
    [Key] string InstanceID;
    string Name;
};

class V_Brand_Profile : V_Profile {
};

class V_Below_Brand_Profile : V_Brand_Profile {
};

class V_Other_Profile : V_Profile {
};

class V_System {
    [Key] string Name;
};

[Association]
class V_Conforms {
    [Key] V_Profile REF Standard;
    [Key] V_System REF Element;
};

[Association]
class V_Brand_Conforms : V_Conforms {
};
"""


class Profiles(InstanceProvider):
    """One profile, shown by each class with its class in the name."""

    def enumerate_instances(self, ctx, classname, property_list):
        yield ctx.instance(classname, InstanceID="p1", Name=f"as {classname}")


class Systems(InstanceProvider):
    def enumerate_instances(self, ctx, classname, property_list):
        yield ctx.instance(classname, Name="s1")


class Conforms(AssociationProvider):
    """The profile of each class to the one system."""

    profile_class = {"v_conforms": "V_Profile", "v_brand_conforms": "V_Brand_Profile"}

    def enumerate_instances(self, ctx, classname, property_list):
        profile = ctx.path(self.profile_class[classname.lower()], InstanceID="p1")
        yield ctx.instance(classname, Standard=profile, Element=ctx.path("V_System", Name="s1"))


class World:
    def __init__(self) -> None:
        repository = compile_mof_strings([SCHEMA], [NS])
        registry = ProviderRegistry()
        registry.register(NS, ["V_Profile", "V_Other_Profile"], Profiles())
        registry.register_view(NS, ["V_Brand_Profile"], Profiles())
        registry.register(NS, ["V_Below_Brand_Profile"], Profiles())
        registry.register(NS, ["V_System"], Systems())
        registry.register(NS, ["V_Conforms"], Conforms())
        registry.register_view(NS, ["V_Brand_Conforms"], Conforms())
        self.registry = registry
        self.repository = repository
        self.dispatcher = Dispatcher(repository, registry)

    def call(self, name: str, **params: Any) -> Any:
        result = self.dispatcher.intrinsic(IntrinsicCall("1", name, NS, params))
        return list(result) if isinstance(result, Iterator) else result


@pytest.fixture
def world() -> Iterator[World]:
    built = World()
    yield built
    built.dispatcher.close()


def classes(found: list[Any]) -> list[str]:
    return sorted(item.classname for item in found)


def test_enumerating_the_superclass_passes_over_the_views(world):
    found = world.call("EnumerateInstances", ClassName=CIMClassName("V_Profile"))
    assert classes(found) == ["V_Other_Profile", "V_Profile"]
    names = world.call("EnumerateInstanceNames", ClassName=CIMClassName("V_Profile"))
    assert classes(names) == ["V_Other_Profile", "V_Profile"]


def test_enumerating_a_view_reaches_it_and_the_classes_below_it(world):
    found = world.call("EnumerateInstances", ClassName=CIMClassName("V_Brand_Profile"))
    assert classes(found) == ["V_Below_Brand_Profile", "V_Brand_Profile"]
    assert found[0]["Name"] == f"as {found[0].classname}"


def test_a_traversal_naming_the_superclass_passes_over_the_view_associations(world):
    system = CIMInstanceName("V_System", {"Name": "s1"}, namespace=NS)
    dmtf = world.call("AssociatorNames", ObjectName=system, AssocClass="V_Conforms")
    assert classes(dmtf) == ["V_Profile"]
    view = world.call("AssociatorNames", ObjectName=system, AssocClass="V_Brand_Conforms")
    assert classes(view) == ["V_Brand_Profile"]
    # Without AssocClass each association class answers for itself.
    every = world.call("AssociatorNames", ObjectName=system)
    assert classes(every) == ["V_Brand_Profile", "V_Profile"]
    references = world.call("ReferenceNames", ObjectName=system, ResultClass="V_Conforms")
    assert classes(references) == ["V_Conforms"]


def test_passes_over_is_false_for_the_view_itself_and_for_plain_subclasses(world):
    passes = world.registry.passes_over
    assert passes(world.repository, NS, "V_Brand_Profile", "V_Profile")
    assert passes(world.repository, NS, "V_Below_Brand_Profile", "V_Profile")
    assert not passes(world.repository, NS, "V_Below_Brand_Profile", "V_Brand_Profile")
    assert not passes(world.repository, NS, "V_Brand_Profile", "V_Brand_Profile")
    assert not passes(world.repository, NS, "V_Other_Profile", "V_Profile")


def test_a_key_the_source_class_does_not_declare_is_ignored_by_a_traversal(world):
    profile = CIMInstanceName("V_Brand_Profile",
                              {"InstanceID": "p1", "CreationClassName": "V_Brand_Profile"},
                              namespace=NS)
    found = world.call("AssociatorNames", ObjectName=profile, AssocClass="V_Brand_Conforms")
    assert [(path.classname, path["Name"]) for path in found] == [("V_System", "s1")]
    links = world.call("ReferenceNames", ObjectName=profile)
    assert classes(links) == ["V_Brand_Conforms"]
