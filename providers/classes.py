"""The model's classes: ``Virt_*`` bases from ``mof/``, per-hypervisor leaves made here.

Every ``Virt_<Name>`` class declared in ``mof/*.mof`` gets one leaf class
``<Prefix>_<Name> : Virt_<Name>`` per hypervisor prefix: the prefixes clients
of libvirt-cim know (KVM, Xen, LXC) and the test driver's, whether or not
such a hypervisor is configured, plus the prefix of every configured
hypervisor (``vbox`` -> ``Vbox``). The leaves are generated, never written by
hand, so a MOF file that declares a new ``Virt_*`` class has its leaves at
the next start.

The repository is compiled in two steps, both cached by
:func:`~virtcim.repository.compile.load_repository`: the base classes alone
(to learn which ``Virt_*`` classes exist), then everything with the leaves
as extra MOF.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from providers.virt import Hypervisor, naming
from virtcim.repository.compile import load_repository, mof_dir, schema_dir
from virtcim.repository.schema import Repository

__all__ = [
    "BASE_PREFIX",
    "INTEROP_ALIAS",
    "INTEROP_NAMESPACE",
    "NAMESPACES",
    "STANDARD_PREFIXES",
    "VIRT_NAMESPACE",
    "build_repository",
    "leaf_classes_mof",
    "prefixes_of",
    "virt_base_classes",
]

VIRT_NAMESPACE = "root/virt"
INTEROP_NAMESPACE = "root/interop"
INTEROP_ALIAS = "interop"
NAMESPACES = (VIRT_NAMESPACE, INTEROP_NAMESPACE)
#: Prefix of the hypervisor-independent base classes.
BASE_PREFIX = "Virt"
#: Leaves made for these prefixes even when no such hypervisor is configured.
STANDARD_PREFIXES = ("KVM", "Xen", "LXC", "Test")


def build_repository(
    hypervisors: Iterable[Hypervisor | str],
    cache_dir: str | os.PathLike[str] | None = None,
) -> Repository:
    """The schema, ``mof/`` and the leaf classes, in ``root/virt`` and ``root/interop``.

    ``hypervisors`` are :class:`Hypervisor` objects or class prefixes. With
    ``cache_dir``, each step's result is cached in a subfolder of its own (a
    cache folder keeps only its newest entry).
    """
    base = load_repository(
        schema_dir(), *class_files(mof_dir()), namespaces=[VIRT_NAMESPACE],
        cache_dir=cache_subdir(cache_dir, "base"),
    )
    leaves = leaf_classes_mof(base, prefixes_of(hypervisors))
    return load_repository(
        namespaces=list(NAMESPACES),
        aliases={INTEROP_ALIAS: INTEROP_NAMESPACE},
        extra_mof=[leaves],
        cache_dir=cache_subdir(cache_dir, "model"),
    )


def prefixes_of(hypervisors: Iterable[Hypervisor | str]) -> list[str]:
    """The standard prefixes, then those of ``hypervisors`` not already named."""
    prefixes = list(STANDARD_PREFIXES)
    for hypervisor in hypervisors:
        prefix = hypervisor if isinstance(hypervisor, str) else hypervisor.prefix
        if prefix not in prefixes:
            prefixes.append(prefix)
    return prefixes


def virt_base_classes(repository: Repository) -> list[str]:
    """The ``Virt_*`` classes of ``repository``, in name order."""
    start = f"{BASE_PREFIX}_".lower()
    return sorted(name for name in repository.classnames(VIRT_NAMESPACE)
                  if name.lower().startswith(start))


def leaf_classes_mof(repository: Repository, prefixes: Iterable[str]) -> str:
    """MOF declaring ``<Prefix>_<Name> : Virt_<Name>`` for each base class and prefix."""
    declarations = []
    bases = virt_base_classes(repository)
    for prefix in prefixes:
        for base in bases:
            generic = naming.split_classname(base)[1]
            leaf = naming.classname(prefix, generic)
            qualifier = "[Association ( true )]\n" if is_association(repository, base) else ""
            declarations.append(f"{qualifier}class {leaf} : {base} {{\n}};\n")
    return "\n".join(declarations)


def is_association(repository: Repository, classname: str) -> bool:
    qualifier = repository.get_class(VIRT_NAMESPACE, classname).qualifiers.get("Association")
    return bool(qualifier is not None and qualifier.value)


def cache_subdir(cache_dir: str | os.PathLike[str] | None, name: str) -> Path | None:
    """``cache_dir/name``, made if ``cache_dir`` exists; ``None`` without a cache."""
    if cache_dir is None or not Path(cache_dir).is_dir():
        return None
    folder = Path(cache_dir) / name
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def class_files(folder: Path) -> list[Path]:
    """The class MOF files of ``mof/`` (not its per-namespace instance folders)."""
    return sorted(path for path in folder.glob("*.mof") if path.is_file())
