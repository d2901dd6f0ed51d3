#!/usr/bin/env python3
"""Extract the DMTF CIM Schema subset virtcim needs into ``schemas/``.

Usage::

    .venv/bin/python tools/extract_schema.py \\
        --final ../shared/dmtf/cim_schema_2.49.0Final-MOFs.zip \\
        --experimental ../shared/dmtf/cim_schema_2.41.0Experimental-MOFs.zip \\
        --out schemas/

The classes come from the Final release. The migration and snapshot roots
that the Final release lacks come from the Experimental release; nothing else
does, so every other class keeps its Final definition.

Starting from :data:`ROOT_CLASSES`, the closure takes in every superclass,
every class named by a REF property or REF parameter, and every class named
by an ``EmbeddedInstance`` qualifier. Each class is compiled with pywbem's MOF
compiler and written back with ``tomof()``: the MOF keeps every fact of the
DMTF class except its ``Description`` qualifiers (long prose the server never
needs), and only the members the class itself declares, as DMTF's files do.

Output: ``CIM_<Name>.mof`` per class, ``qualifiers.mof`` and ``schema.mof``
(``#pragma include`` of the qualifiers, then the classes with every class
after the classes it names). The output depends only on the two zips.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pywbem import (
    CIMClass,
    CIMError,
    CIMQualifierDeclaration,
    MOFCompileError,
    MOFCompiler,
    MOFWBEMConnection,
)

VIRTUALIZATION_GROUP = "virtualization model (DSP1042, DSP1057 and their component profiles)"
MIGRATION_GROUP = "migration and snapshots (DSP1081, DSP1101)"

#: The classes virtcim serves or names directly, grouped by purpose.
ROOT_CLASSES: Mapping[str, tuple[str, ...]] = {
    VIRTUALIZATION_GROUP: (
        # managed elements and their settings
        "CIM_ComputerSystem",
        "CIM_VirtualSystemSettingData",
        "CIM_ResourceAllocationSettingData",
        "CIM_StorageAllocationSettingData",
        "CIM_EthernetPortAllocationSettingData",
        "CIM_Processor",
        "CIM_Memory",
        "CIM_LogicalDisk",
        "CIM_NetworkPort",
        "CIM_DisplayController",
        "CIM_PointingDevice",
        "CIM_Controller",
        "CIM_ResourcePool",
        # services and capabilities
        "CIM_AllocationCapabilities",
        "CIM_EnabledLogicalElementCapabilities",
        "CIM_VirtualSystemManagementService",
        "CIM_VirtualSystemManagementCapabilities",
        "CIM_ResourcePoolConfigurationService",
        "CIM_ResourcePoolConfigurationCapabilities",
        "CIM_RedirectionService",
        "CIM_RedirectionServiceCapabilities",
        "CIM_KVMRedirectionSAP",
        "CIM_SwitchService",
        # associations
        "CIM_SystemDevice",
        "CIM_HostedDependency",
        "CIM_VirtualSystemSettingDataComponent",
        "CIM_SettingsDefineState",
        "CIM_ElementSettingData",
        "CIM_ResourceAllocationFromPool",
        "CIM_ElementAllocatedFromPool",
        "CIM_HostedResourcePool",
        "CIM_HostedService",
        "CIM_ElementCapabilities",
        "CIM_SettingsDefineCapabilities",
        "CIM_ConcreteComponent",
        "CIM_ServiceAffectsElement",
        "CIM_HostedAccessPoint",
        "CIM_ServiceAccessBySAP",
        "CIM_SAPAvailableForElement",
        # network filters
        "CIM_FilterList",
        "CIM_FilterEntry",
        "CIM_Hdr8021Filter",
        "CIM_IPHeadersFilter",
        "CIM_EntriesInFilterList",
        "CIM_HostedFilterList",
        "CIM_ConcreteDependency",
    ),
    "interop namespace (DSP1033, DSP1054)": (
        "CIM_ObjectManager",
        "CIM_Namespace",
        "CIM_CIMXMLCommunicationMechanism",
        "CIM_CommMechanismForManager",
        "CIM_NamespaceInManager",
        "CIM_RegisteredProfile",
        "CIM_ElementConformsToProfile",
        "CIM_ReferencedProfile",
        "CIM_SoftwareIdentity",
        "CIM_ElementSoftwareIdentity",
        "CIM_HostedService",
        "CIM_SystemIdentification",
        "CIM_WBEMServer",
    ),
    "indications (DSP1054)": (
        "CIM_Indication",
        "CIM_InstCreation",
        "CIM_InstDeletion",
        "CIM_InstModification",
        "CIM_InstMethodCall",
        "CIM_AlertIndication",
        "CIM_IndicationFilter",
        "CIM_ListenerDestinationCIMXML",
        # deprecated for the class above, and still what libvirt-cim's clients create
        "CIM_IndicationHandlerCIMXML",
        "CIM_IndicationSubscription",
        "CIM_IndicationService",
        "CIM_IndicationServiceCapabilities",
    ),
    "jobs (DSP1103)": (
        "CIM_ConcreteJob",
        "CIM_AffectedJobElement",
        "CIM_OwningJobElement",
        "CIM_Error",
    ),
    MIGRATION_GROUP: (
        "CIM_VirtualSystemMigrationService",
        "CIM_VirtualSystemMigrationCapabilities",
        "CIM_VirtualSystemMigrationSettingData",
        "CIM_VirtualSystemSnapshotService",
        "CIM_VirtualSystemSnapshotServiceCapabilities",
        "CIM_VirtualSystemSnapshotCapabilities",
        "CIM_SnapshotOfVirtualSystem",
        "CIM_LastAppliedSnapshot",
        "CIM_MostCurrentSnapshotInBranch",
    ),
}

#: Groups whose roots may come from the Experimental release when Final lacks them.
EXPERIMENTAL_GROUPS = (MIGRATION_GROUP,)

#: The standard declarations, kept whole: any MOF may use them.
STANDARD_QUALIFIER_FILE = "qualifiers.mof"
#: Optional declarations, kept only where the subset uses them.
OPTIONAL_QUALIFIER_FILE = "qualifiers_optional.mof"
DESCRIPTION = "Description"
EMBEDDED_INSTANCE = "EmbeddedInstance"
NAMESPACE = "root/cimv2"  # any name: the compiler needs one


class SchemaError(Exception):
    """The schema releases cannot give the subset asked for."""


class Release:
    """One unpacked DMTF schema release: its class files by class name."""

    def __init__(self, zip_path: Path, workdir: Path) -> None:
        self.label = release_label(zip_path)
        self.root = workdir
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(workdir)
        self.class_files = {
            path.stem.lower(): path for path in sorted(workdir.rglob("*.mof")) if "_" in path.stem
        }

    def find(self, classname: str) -> Path | None:
        return self.class_files.get(classname.lower())


def release_label(zip_path: Path) -> str:
    """``cim_schema_2.49.0Final-MOFs.zip`` -> ``CIM Schema 2.49.0 Final``."""
    name = zip_path.name.removeprefix("cim_schema_").removesuffix("-MOFs.zip")
    version = name.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return f"CIM Schema {version} {name[len(version):]}".rstrip()


class SchemaCompiler:
    """pywbem's MOF compiler over one release, pulling in dependencies by file name."""

    def __init__(self, final: Release) -> None:
        self.store = MOFWBEMConnection()
        # Superclasses and REF targets the compiler finds itself, in Final only.
        self.compiler = MOFCompiler(self.store, search_paths=[str(final.root)])
        self.compile(final.root / STANDARD_QUALIFIER_FILE)
        self.standard_qualifiers = set(self.qualifiers())
        self.compile(final.root / OPTIONAL_QUALIFIER_FILE)

    def compile(self, path: Path) -> None:
        try:
            self.compiler.compile_file(str(path), NAMESPACE)
        except (MOFCompileError, CIMError) as exc:
            raise SchemaError(f"{path.name}: {exc}") from exc

    def qualifiers(self) -> dict[str, CIMQualifierDeclaration]:
        return dict(self.store.qualifiers.get(NAMESPACE, {}).items())

    def get(self, classname: str) -> CIMClass | None:
        return self.store.classes.get(NAMESPACE, {}).get(classname)


def class_dependencies(cls: CIMClass) -> set[str]:
    """Classes ``cls`` names: superclass, REF targets, EmbeddedInstance classes."""
    names = {cls.superclass} if cls.superclass else set()
    for element in qualified_elements(cls):
        if getattr(element, "type", None) == "reference":
            names.add(element.reference_class)
        embedded = element.qualifiers.get(EMBEDDED_INSTANCE)
        if embedded is not None and embedded.value:
            names.add(embedded.value)
    return names


def qualified_elements(cls: CIMClass) -> Iterator[Any]:
    """``cls`` and its properties, methods and parameters: all that has qualifiers."""
    yield cls
    yield from cls.properties.values()
    for method in cls.methods.values():
        yield method
        yield from method.parameters.values()


def compute_closure(
    compiler: SchemaCompiler, final: Release, experimental: Release
) -> dict[str, CIMClass]:
    """Compile the roots and everything they name; local classes by name."""
    roots = sorted({name for group in ROOT_CLASSES.values() for name in group})
    from_experimental = {
        name.lower() for group in EXPERIMENTAL_GROUPS for name in ROOT_CLASSES[group]
    }
    missing = [
        name for name in roots
        if final.find(name) is None
        and not (name.lower() in from_experimental and experimental.find(name))
    ]
    if missing:
        raise SchemaError(
            f"not in {final.label} (nor, for migration/snapshot classes, in "
            f"{experimental.label}): {', '.join(missing)}"
        )
    closure: dict[str, CIMClass] = {}
    pending = [(name, "root class list") for name in roots]
    while pending:
        name, named_by = pending.pop()
        if name.lower() in closure:
            continue
        cls = compiler.get(name)
        if cls is None:
            path = final.find(name) or (
                experimental.find(name) if name.lower() in from_experimental else None
            )
            if path is None:
                raise SchemaError(f"class {name} named by {named_by} is not in {final.label}")
            compiler.compile(path)
            cls = compiler.get(name)
        closure[name.lower()] = cls
        pending.extend((dep, cls.classname) for dep in sorted(class_dependencies(cls)))
    return {cls.classname: local_class(cls) for cls in closure.values()}


def local_class(cls: CIMClass) -> CIMClass:
    """A copy of ``cls`` with only its own members and no Description qualifiers.

    The compiler merges inherited members into compiled classes; those carry
    the class that declared them as their class origin.
    """
    local = cls.copy()
    for members in (local.properties, local.methods):
        for name, member in list(members.items()):
            origin = member.class_origin
            if origin and origin.lower() != cls.classname.lower():
                del members[name]
    for element in qualified_elements(local):
        if DESCRIPTION in element.qualifiers:
            del element.qualifiers[DESCRIPTION]
    return local


def dependency_order(classes: Mapping[str, CIMClass]) -> list[str]:
    """Class names with every class after the classes it names (cycles broken by name)."""
    by_lower = {name.lower(): name for name in classes}
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        key = name.lower()
        if key in seen:
            return
        seen.add(key)
        for dep in sorted(class_dependencies(classes[by_lower[key]]), key=str.lower):
            visit(dep)
        ordered.append(by_lower[key])

    for name in sorted(classes, key=str.lower):
        visit(name)
    return ordered


def used_qualifiers(classes: Iterable[CIMClass]) -> set[str]:
    """Lower-cased names of every qualifier ``classes`` carry."""
    used = set()
    for cls in classes:
        for element in qualified_elements(cls):
            used.update(name.lower() for name in element.qualifiers)
    return used


def write_schema(
    out: Path,
    classes: Mapping[str, CIMClass],
    qualifiers: Iterable[CIMQualifierDeclaration],
    sources: Mapping[str, str],
    qualifier_source: str,
) -> None:
    """Write one file per class, ``qualifiers.mof`` and the ``schema.mof`` index."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("CIM_*.mof"):
        if stale.stem not in classes:
            stale.unlink()
    write_text(out / "qualifiers.mof",
               header(f"Qualifier declarations from DMTF {qualifier_source}")
               + "\n".join(decl.tomof() for decl in qualifiers))
    for name, cls in classes.items():
        write_text(out / f"{name}.mof",
                   header(f"{name} from DMTF {sources[name]}, without Description qualifiers")
                   + cls.tomof())
    includes = ["qualifiers.mof", *(f"{name}.mof" for name in dependency_order(classes))]
    write_text(out / "schema.mof",
               header("The DMTF CIM Schema subset, each class after the classes it names")
               + "".join(f'#pragma include ("{name}")\n' for name in includes))


def header(what: str) -> str:
    return (
        f"// {what}.\n"
        "// Copyright DMTF. Generated by tools/extract_schema.py: do not edit.\n\n"
    )


def write_text(path: Path, text: str) -> None:
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def extract(final_zip: Path, experimental_zip: Path, out: Path) -> int:
    """Write the subset into ``out``; the number of classes written."""
    with tempfile.TemporaryDirectory(prefix="virtcim-schema-") as tmp:
        final = Release(final_zip, Path(tmp, "final"))
        experimental = Release(experimental_zip, Path(tmp, "experimental"))
        compiler = SchemaCompiler(final)
        classes = compute_closure(compiler, final, experimental)
        classes = {name: classes[name] for name in sorted(classes)}
        sources = {
            name: final.label if final.find(name) else experimental.label for name in classes
        }
        used = used_qualifiers(classes.values()) | {DESCRIPTION.lower()}
        qualifiers = [
            decl for name, decl in compiler.qualifiers().items()
            if name in compiler.standard_qualifiers or name.lower() in used
        ]
        write_schema(out, classes, qualifiers, sources, final.label)
    return len(classes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--final", type=Path, required=True, help="CIM Schema Final MOF zip")
    parser.add_argument("--experimental", type=Path, required=True,
                        help="CIM Schema Experimental MOF zip (migration and snapshot classes)")
    parser.add_argument("--out", type=Path, required=True, help="output directory (schemas/)")
    args = parser.parse_args(argv)
    try:
        count = extract(args.final, args.experimental, args.out)
    except (SchemaError, OSError, zipfile.BadZipFile) as exc:
        print(f"extract_schema: {exc}", file=sys.stderr)
        return 1
    print(f"extract_schema: {count} classes written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
