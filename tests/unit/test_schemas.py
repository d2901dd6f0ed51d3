"""``schemas/`` holds the DMTF classes, fact for fact, minus their Description text.

Both sides are compiled and resolved by pywbem's mock server, so a member
wrongly dropped or kept as local shows up as a changed class origin or
propagation flag.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pywbem import CIMClass
from pywbem_mock import FakedWBEMConnection

from virtcim.repository.compile import SCHEMA_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DMTF_DIR = PROJECT_ROOT.parent / "shared" / "dmtf"
FINAL_ZIP = DMTF_DIR / "cim_schema_2.49.0Final-MOFs.zip"
EXPERIMENTAL_ZIP = DMTF_DIR / "cim_schema_2.41.0Experimental-MOFs.zip"
TOOL = PROJECT_ROOT / "tools" / "extract_schema.py"
NAMESPACE = "root/cimv2"

if not (FINAL_ZIP.is_file() and EXPERIMENTAL_ZIP.is_file()):
    pytest.skip(f"DMTF schema zips not found at {DMTF_DIR}", allow_module_level=True)

CLASS_NAMES = sorted(path.stem for path in SCHEMA_DIR.glob("CIM_*.mof"))


def unpack(zip_path: Path, dest: Path) -> dict[str, Path]:
    """Unpack a release; its class files by lower-cased class name."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
    return {path.stem.lower(): path for path in dest.rglob("CIM_*.mof")}


@pytest.fixture(scope="module")
def dmtf_repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The DMTF originals of every class in ``schemas/``, compiled and resolved."""
    tmp = tmp_path_factory.mktemp("dmtf")
    final = unpack(FINAL_ZIP, tmp / "final")
    experimental = unpack(EXPERIMENTAL_ZIP, tmp / "experimental")
    conn = FakedWBEMConnection(default_namespace=NAMESPACE)
    for name in ("qualifiers.mof", "qualifiers_optional.mof"):
        conn.compile_mof_file(str(tmp / "final" / name), namespace=NAMESPACE)
    store = conn.cimrepository.get_class_store(NAMESPACE)
    origin = {}
    for name in CLASS_NAMES:
        origin[name] = "Final" if name.lower() in final else "Experimental"
        if store.object_exists(name):
            continue  # pulled in already as a dependency of an earlier class
        path = final.get(name.lower()) or experimental[name.lower()]
        conn.compile_mof_file(str(path), namespace=NAMESPACE, search_paths=[str(tmp / "final")])
    return {
        "classes": {name: store.get(name) for name in store.iter_names()},
        "qualifiers": {
            decl.name.lower(): decl
            for decl in conn.cimrepository.get_qualifier_store(NAMESPACE).iter_values()
        },
        "origin": origin,
    }


@pytest.fixture(scope="module")
def our_repo() -> dict[str, Any]:
    conn = FakedWBEMConnection(default_namespace=NAMESPACE)
    conn.compile_mof_file(str(SCHEMA_DIR / "schema.mof"), namespace=NAMESPACE)
    repo = conn.cimrepository
    return {
        "classes": {cls.classname: cls for cls in repo.get_class_store(NAMESPACE).iter_values()},
        "qualifiers": {
            decl.name.lower(): decl for decl in repo.get_qualifier_store(NAMESPACE).iter_values()
        },
    }


@pytest.fixture(scope="module")
def tool() -> Any:
    spec = importlib.util.spec_from_file_location("extract_schema", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- facts compared ------------------------------------------------------------


def qualifier_facts(qualifiers: Any) -> dict[str, tuple]:
    return {
        q.name: (q.type, q.value, q.propagated, q.overridable, q.tosubclass, q.toinstance,
                 q.translatable)
        for q in qualifiers.values()
        if q.name.lower() != "description"
    }


def typed_facts(element: Any) -> dict[str, Any]:
    return {
        "type": element.type,
        "is_array": element.is_array,
        "array_size": element.array_size,
        "reference_class": element.reference_class,
        "embedded_object": element.embedded_object,
        "qualifiers": qualifier_facts(element.qualifiers),
    }


def class_facts(cls: CIMClass) -> dict[str, Any]:
    """Everything a class states except Description, in a form that diffs well."""
    return {
        "superclass": cls.superclass,
        "qualifiers": qualifier_facts(cls.qualifiers),
        "properties": {
            prop.name: {
                **typed_facts(prop),
                "default": prop.value,
                "class_origin": prop.class_origin,
                "propagated": prop.propagated,
            }
            for prop in cls.properties.values()
        },
        "methods": {
            method.name: {
                "return_type": method.return_type,
                "class_origin": method.class_origin,
                "propagated": method.propagated,
                "qualifiers": qualifier_facts(method.qualifiers),
                "parameters": {
                    param.name: typed_facts(param) for param in method.parameters.values()
                },
            }
            for method in cls.methods.values()
        },
    }


def qualifier_holders(cls: CIMClass) -> list[Any]:
    holders = [cls, *cls.properties.values()]
    for method in cls.methods.values():
        holders += [method, *method.parameters.values()]
    return holders


def named_classes(cls: CIMClass) -> set[str]:
    """Superclass, REF targets and EmbeddedInstance classes of ``cls``."""
    names = {cls.superclass} if cls.superclass else set()
    for holder in qualifier_holders(cls):
        if getattr(holder, "reference_class", None):
            names.add(holder.reference_class)
        embedded = holder.qualifiers.get("EmbeddedInstance")
        if embedded is not None and embedded.value:
            names.add(embedded.value)
    return names


# -- tests ---------------------------------------------------------------------


def test_schema_folder_holds_the_subset():
    assert len(CLASS_NAMES) > 100
    assert (SCHEMA_DIR / "qualifiers.mof").is_file()


@pytest.mark.parametrize("classname", CLASS_NAMES)
def test_class_states_every_dmtf_fact_but_description(classname, our_repo, dmtf_repo):
    assert class_facts(our_repo["classes"][classname]) == class_facts(
        dmtf_repo["classes"][classname]
    )


def test_classes_carry_no_description_text(our_repo):
    described = [
        cls.classname
        for cls in our_repo["classes"].values()
        if any("Description" in holder.qualifiers for holder in qualifier_holders(cls))
    ]
    assert described == []


def test_files_hold_exactly_the_compiled_classes(our_repo):
    assert sorted(our_repo["classes"]) == CLASS_NAMES


def test_each_file_names_the_release_its_class_comes_from(dmtf_repo):
    for name in CLASS_NAMES:
        first_line = (SCHEMA_DIR / f"{name}.mof").read_text().splitlines()[0]
        assert f"CIM Schema 2.49.0 {dmtf_repo['origin'][name]}" in first_line or (
            f"CIM Schema 2.41.0 {dmtf_repo['origin'][name]}" in first_line
        ), name


def test_experimental_release_supplies_only_migration_and_snapshot_classes(dmtf_repo):
    experimental = [name for name, origin in dmtf_repo["origin"].items()
                    if origin == "Experimental"]
    assert "CIM_VirtualSystemMigrationService" in experimental
    assert all("Migration" in name or "Snapshot" in name for name in experimental)


def test_qualifier_declarations_match_dmtf(our_repo, dmtf_repo):
    ours = our_repo["qualifiers"]
    assert "description" in ours
    for name, decl in ours.items():
        assert decl == dmtf_repo["qualifiers"][name], name


def test_closure_is_complete(our_repo):
    present = {name.lower() for name in our_repo["classes"]}
    missing = {
        (cls.classname, name)
        for cls in our_repo["classes"].values()
        for name in named_classes(cls)
        if name.lower() not in present
    }
    assert missing == set()


def test_every_root_class_is_present(our_repo, tool):
    roots = {name for group in tool.ROOT_CLASSES.values() for name in group}
    assert roots - set(our_repo["classes"]) == set()


def test_tool_output_matches_the_committed_folder(tool, tmp_path):
    assert tool.main(["--final", str(FINAL_ZIP), "--experimental", str(EXPERIMENTAL_ZIP),
                      "--out", str(tmp_path)]) == 0
    generated = {path.name: path.read_text() for path in tmp_path.glob("*.mof")}
    committed = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.mof")}
    assert generated == committed


def test_tool_rejects_a_class_the_schema_lacks(tool, tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "ROOT_CLASSES", {**tool.ROOT_CLASSES, "typo": ("CIM_NoSuchThing",)})
    with pytest.raises(tool.SchemaError, match="CIM_NoSuchThing"):
        tool.extract(FINAL_ZIP, EXPERIMENTAL_ZIP, tmp_path)
