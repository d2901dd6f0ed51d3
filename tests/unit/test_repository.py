"""Loading the repository from MOF (with its cache) and looking things up in it."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import pytest
from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NO_SUCH_PROPERTY,
    CIMError,
    Uint16,
)

from virtcim.repository import compile as compile_module
from virtcim.repository.compile import (
    SCHEMA_DIR,
    compile_mof_strings,
    load_repository,
    mof_dir,
    schema_dir,
)

NAMESPACES = ["root/virt", "root/interop"]
ALIASES = {"interop": "root/interop"}
QUALIFIERS = SCHEMA_DIR / "qualifiers.mof"

VIRT_MOF = """
class Virt_ComputerSystem : CIM_ComputerSystem {
   string UUID;
};
"""
TEST_MOF = """
class Test_ComputerSystem : Virt_ComputerSystem {
};
"""
PROFILE_MOF = """
instance of CIM_RegisteredProfile {
   InstanceID = "virtcim:DSP1042";
   RegisteredOrganization = 2;
   RegisteredName = "System Virtualization";
   RegisteredVersion = "1.0.0";
};
"""
SETTING_MOF = """
instance of CIM_VirtualSystemSettingData {
   InstanceID = "Test:template";
};
"""
GENERATED_MOF = """
class Test_Generated : CIM_ManagedElement {
   [Key, Override ("InstanceID")] string InstanceID;
};
"""
GENERATED_INSTANCE_MOF = """
instance of Test_Generated { InstanceID = "made at start-up"; };
"""
TINY_MOF = """
class Tiny_Thing {
   [Key] string Name;
   uint16 Size;
};
"""


@pytest.fixture(scope="module")
def mof_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``mof/`` folder as the project lays it out (names decide compile order)."""
    folder = tmp_path_factory.mktemp("mof")
    (folder / "10_virt.mof").write_text(VIRT_MOF)
    (folder / "20_test.mof").write_text(TEST_MOF)
    (folder / "root_interop").mkdir()
    (folder / "root_interop" / "profiles.mof").write_text(PROFILE_MOF)
    (folder / "root_virt").mkdir()
    (folder / "root_virt" / "templates.mof").write_text(SETTING_MOF)
    return folder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def load_full(mof_folder: Path, cache_dir: Path | None):
    return load_repository(
        SCHEMA_DIR,
        mof_folder,
        namespaces=NAMESPACES,
        aliases=ALIASES,
        extra_mof=[GENERATED_MOF],
        instance_mof={"interop": [GENERATED_INSTANCE_MOF]},
        cache_dir=cache_dir,
    )


@pytest.fixture(scope="module")
def repo(mof_folder: Path, cache_dir: Path):
    return load_full(mof_folder, cache_dir)


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "tiny.mof").write_text(TINY_MOF)
    return folder


def load_tiny(folder: Path, cache_dir: Path | None):
    return load_repository(QUALIFIERS, folder, namespaces=["root/virt"], cache_dir=cache_dir)


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("repository-*.pickle"))


def refuse_to_compile(plan):
    raise AssertionError("compiled although the cache holds the result")


# -- loading and caching ---------------------------------------------------------


def test_load_repository_resolves_schema_and_own_classes(repo):
    cs = repo.get_class("root/virt", "Test_ComputerSystem")
    assert cs.superclass == "Virt_ComputerSystem"
    assert cs.properties["UUID"].class_origin == "Virt_ComputerSystem"
    assert cs.properties["Caption"].class_origin == "CIM_ManagedElement"
    assert cs.properties["Name"].qualifiers["Key"].value is True
    assert "RequestStateChange" in cs.methods


def test_extra_mof_is_compiled_after_the_sources(repo):
    assert repo.get_class("root/interop", "Test_Generated").superclass == "CIM_ManagedElement"


def test_cache_hit_returns_equal_classes_without_compiling(repo, mof_folder, cache_dir,
                                                           monkeypatch):
    assert len(cache_files(cache_dir)) == 1
    monkeypatch.setattr(compile_module, "compile_plan", refuse_to_compile)
    warm = load_full(mof_folder, cache_dir)
    assert warm.classnames("root/virt") == repo.classnames("root/virt")
    for name in repo.classnames("root/virt"):
        assert warm.get_class("root/virt", name) == repo.get_class("root/virt", name)
    assert warm.qualifiers("root/virt") == repo.qualifiers("root/virt")
    assert warm.static_instances("root/interop") == repo.static_instances("root/interop")


def test_changed_mof_misses_the_cache_and_replaces_the_old_entry(tiny_folder, tmp_path):
    load_tiny(tiny_folder, tmp_path)
    [first] = cache_files(tmp_path)
    (tiny_folder / "tiny.mof").write_text(TINY_MOF.replace("uint16 Size", "uint32 Size"))
    changed = load_tiny(tiny_folder, tmp_path)
    assert changed.get_class("root/virt", "Tiny_Thing").properties["Size"].type == "uint32"
    assert cache_files(tmp_path) != [first]
    assert len(cache_files(tmp_path)) == 1


@pytest.mark.parametrize("damage", [b"", b"not a pickle", pickle.dumps({"classes": []})])
def test_corrupt_cache_is_ignored_and_rebuilt(tiny_folder, tmp_path, damage):
    load_tiny(tiny_folder, tmp_path)
    [entry] = cache_files(tmp_path)
    entry.write_bytes(damage)
    repo = load_tiny(tiny_folder, tmp_path)
    assert repo.get_class("root/virt", "Tiny_Thing").properties["Size"].type == "uint16"
    assert isinstance(pickle.loads(entry.read_bytes()), compile_module.Compiled)


def test_missing_cache_dir_means_no_caching(tiny_folder, tmp_path):
    absent = tmp_path / "absent"
    repo = load_tiny(tiny_folder, absent)
    assert repo.find_class("root/virt", "Tiny_Thing") is not None
    assert not absent.exists()


def test_unwritable_cache_dir_means_no_caching(tiny_folder, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    repo = load_tiny(tiny_folder, tmp_path)
    assert repo.find_class("root/virt", "Tiny_Thing") is not None
    assert list(tmp_path.iterdir()) == [tiny_folder]


def test_failed_cache_write_leaves_no_temporary_file(tiny_folder, tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(compile_module.os, "replace", refuse)
    load_tiny(tiny_folder, tmp_path)
    assert list(tmp_path.iterdir()) == [tiny_folder]


def test_instance_mof_for_an_unknown_namespace_is_refused(tiny_folder):
    with pytest.raises(ValueError, match="root/nowhere"):
        load_repository(QUALIFIERS, tiny_folder, namespaces=["root/virt"],
                        instance_mof={"root/nowhere": [""]})


def test_compile_mof_strings_still_compiles_texts():
    repo = compile_mof_strings(
        [QUALIFIERS.read_text(), TINY_MOF],
        ["root/virt"],
        instance_mof={"root/virt": ['instance of Tiny_Thing { Name = "a"; Size = 3; };']},
    )
    [inst] = repo.static_instances("root/virt")
    assert inst["Size"] == 3


def test_schema_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VIRTCIM_SCHEMA_DIR", str(tmp_path / "schemas"))
    assert schema_dir() == tmp_path / "schemas"
    assert mof_dir() == tmp_path / "mof"


def test_schema_dir_defaults_to_the_checkout(monkeypatch):
    monkeypatch.delenv("VIRTCIM_SCHEMA_DIR", raising=False)
    project = Path(compile_module.__file__).resolve().parents[2]
    assert schema_dir() == project / "schemas"
    assert mof_dir() == project / "mof"


# -- lookups -----------------------------------------------------------------------


def test_subclassnames_shallow_lists_direct_children_only(repo):
    assert "Virt_ComputerSystem" in repo.subclassnames("root/virt", "CIM_ComputerSystem", False)
    assert "Test_ComputerSystem" not in repo.subclassnames(
        "root/virt", "CIM_ComputerSystem", False
    )


def test_subclassnames_deep_lists_all_descendants(repo):
    deep = repo.subclassnames("root/virt", "CIM_System", True)
    assert {"CIM_ComputerSystem", "Virt_ComputerSystem", "Test_ComputerSystem"} <= set(deep)
    assert "CIM_System" not in deep


def test_subclassnames_of_none_are_the_root_classes(repo):
    roots = repo.subclassnames("root/virt", None, False)
    assert "CIM_ManagedElement" in roots
    assert "CIM_ComputerSystem" not in roots


def test_is_subclass_follows_the_chain_ignoring_case(repo):
    assert repo.is_subclass("root/virt", "test_computersystem", "CIM_MANAGEDELEMENT")
    assert repo.is_subclass("root/virt", "CIM_Service", "CIM_Service")
    assert not repo.is_subclass("root/virt", "Test_ComputerSystem", "CIM_Service")


@pytest.mark.parametrize(
    "spelling, canonical",
    [("root/virt", "root/virt"), ("ROOT/Virt", "root/virt"), ("/root/virt/", "root/virt"),
     ("interop", "root/interop"), ("root/interop", "root/interop")],
)
def test_canonical_namespace_accepts_aliases_and_case(repo, spelling, canonical):
    assert repo.canonical_namespace(spelling) == canonical


@pytest.mark.parametrize("namespace", ["root/cimv2", "", None, "root"])
def test_unknown_namespace_is_invalid_namespace(repo, namespace):
    with pytest.raises(CIMError) as err:
        repo.canonical_namespace(namespace)
    assert err.value.status_code == CIM_ERR_INVALID_NAMESPACE


def test_unknown_class_is_invalid_class(repo):
    with pytest.raises(CIMError) as err:
        repo.get_class("root/virt", "CIM_NoSuchThing")
    assert err.value.status_code == CIM_ERR_INVALID_CLASS
    assert "CIM_NoSuchThing" in err.value.status_description


def test_build_instance_converts_values_and_builds_the_path(repo):
    inst = repo.build_instance(
        "root/virt",
        "test_computersystem",
        {"Name": "web1", "CreationClassName": "Test_ComputerSystem", "EnabledState": 2,
         "dedicated": [0]},
    )
    assert inst.classname == "Test_ComputerSystem"
    assert isinstance(inst["EnabledState"], Uint16)
    assert inst.properties["Dedicated"].is_array
    assert inst.path.keybindings == {"Name": "web1", "CreationClassName": "Test_ComputerSystem"}
    assert inst.path.namespace == "root/virt"


def test_build_instance_rejects_an_undeclared_property(repo):
    with pytest.raises(CIMError) as err:
        repo.build_instance("root/virt", "Test_ComputerSystem", {"Bogus": 1})
    assert err.value.status_code == CIM_ERR_NO_SUCH_PROPERTY
    assert "Bogus" in err.value.status_description


@pytest.mark.parametrize(
    "name, value",
    [("EnabledState", "running"), ("EnabledState", 70000), ("EnabledState", [2]),
     ("Dedicated", 0), ("Dedicated", "0")],
)
def test_build_instance_rejects_a_value_of_the_wrong_type(repo, name, value):
    with pytest.raises(CIMError) as err:
        repo.build_instance("root/virt", "Test_ComputerSystem", {name: value})
    assert err.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert name in err.value.status_description


def test_static_instances_belong_to_their_namespace(repo):
    interop = {inst.classname: inst for inst in repo.static_instances("root/interop")}
    virt = {inst.classname: inst for inst in repo.static_instances("root/virt")}
    assert interop["CIM_RegisteredProfile"]["RegisteredName"] == "System Virtualization"
    assert interop["Test_Generated"]["InstanceID"] == "made at start-up"
    assert set(virt) == {"CIM_VirtualSystemSettingData"}
    assert interop["CIM_RegisteredProfile"].path.namespace == "root/interop"
