"""The model's classes: ``Virt_*`` bases from ``mof/``, per-hypervisor leaves made here.

Every ``Virt_<Name>`` class declared in ``mof/*.mof`` gets one leaf class
``<Prefix>_<Name> : Virt_<Name>`` per hypervisor prefix: the prefixes clients
of libvirt-cim know (KVM, Xen, LXC) and the test driver's, whether or not
such a hypervisor is configured, plus the prefix of every configured
hypervisor (``vbox`` -> ``Vbox``). The leaves are generated, never written by
hand, so a MOF file that declares a new ``Virt_*`` class has its leaves at
the next start.

Two exceptions keep libvirt-cim's class tree, which its clients walk:

* below a base of :data:`PREFIX_BASES` the leaves derive from their prefix's
  leaf of that base, carrying what their ``Virt_*`` class declares itself:
  ``KVM_DiskResourceAllocationSettingData : KVM_ResourceAllocationSettingData``
  (itself ``: Virt_ResourceAllocationSettingData``), so that enumerating
  ``KVM_ResourceAllocationSettingData`` finds every KVM setting. The DSP1047
  and DSP1050 1.1 forms derive from ``CIM_StorageAllocationSettingData`` and
  ``CIM_EthernetPortAllocationSettingData`` as DMTF requires, so they stay
  outside that tree (``Virt_StorageAllocationSettingData`` is no
  ``Virt_ResourceAllocationSettingData``);
* each prefix also gets the interop classes of :data:`INTEROP_LEAVES`
  (``KVM_RegisteredProfile : CIM_RegisteredProfile``...), the names under which
  libvirt-cim's clients look for the registered profiles.

The repository is compiled in two steps, both cached by
:func:`~virtcim.repository.compile.load_repository`: the base classes alone
(to learn which ``Virt_*`` classes exist), then everything with the leaves
as extra MOF.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pywbem import CIMClass

from providers.virt import Hypervisor, naming
from virtcim.repository.compile import load_repository, mof_dir, schema_dir
from virtcim.repository.schema import Repository

__all__ = [
    "BASE_PREFIX",
    "INTEROP_ALIAS",
    "INTEROP_LEAVES",
    "INTEROP_NAMESPACE",
    "NAMESPACES",
    "PEGASUS_INTEROP",
    "PREFIX_BASES",
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
#: OpenPegasus's interop namespace, where libvirt-cim's clients (cimtest's indication
#: tests) make their subscriptions.
PEGASUS_INTEROP = "root/PG_InterOp"
NAMESPACES = (VIRT_NAMESPACE, INTEROP_NAMESPACE)
#: Prefix of the hypervisor-independent base classes.
BASE_PREFIX = "Virt"
#: Leaves made for these prefixes even when no such hypervisor is configured.
STANDARD_PREFIXES = ("KVM", "Xen", "LXC", "Test")
#: Generic classes whose ``<Prefix>_`` leaf is the superclass of that prefix's
#: leaves of the ``Virt_*`` classes derived from the base.
PREFIX_BASES = ("ResourceAllocationSettingData",)
#: Interop classes each prefix has a leaf of: generic name -> DMTF superclass.
INTEROP_LEAVES = {
    "RegisteredProfile": "CIM_RegisteredProfile",
    "ElementConformsToProfile": "CIM_ElementConformsToProfile",
    "ReferencedProfile": "CIM_ReferencedProfile",
}
#: The reference properties of each interop leaf that point at the prefix's
#: registered profiles (libvirt-cim narrowed them the same way).
_PROFILE_REFERENCES = {
    "ElementConformsToProfile": ("ConformantStandard",),
    "ReferencedProfile": ("Antecedent", "Dependent"),
}


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
        aliases={INTEROP_ALIAS: INTEROP_NAMESPACE, PEGASUS_INTEROP: INTEROP_NAMESPACE},
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
    """MOF declaring each prefix's leaves of the ``Virt_*`` classes and of the interop classes.

    ``<Prefix>_<Name> : Virt_<Name>``, but ``<Prefix>_<Name> : <Prefix>_<Base>``
    with ``Virt_<Name>``'s own qualifiers, properties and methods where
    ``Virt_<Name>`` derives from ``Virt_<Base>`` and ``<Base>`` is one of
    :data:`PREFIX_BASES`.
    """
    declarations = []
    bases = virt_base_classes(repository)
    # The prefix bases first: the leaves below them name them as superclass.
    bases.sort(key=lambda name: naming.split_classname(name)[1] not in PREFIX_BASES)
    for prefix in prefixes:
        for base in bases:
            declarations.append(_leaf_mof(repository, prefix, base))
        for generic, dmtf in INTEROP_LEAVES.items():
            declarations.append(_interop_leaf_mof(prefix, generic, dmtf))
    return "\n".join(declarations)


def _leaf_mof(repository: Repository, prefix: str, base: str) -> str:
    leaf = naming.classname(prefix, naming.split_classname(base)[1])
    cls = repository.get_class(VIRT_NAMESPACE, base)
    parent = _prefix_base(cls.superclass)
    if parent is None:
        qualifier = "[Association ( true )]\n" if is_association(repository, base) else ""
        return f"{qualifier}class {leaf} : {base} {{\n}};\n"
    own = CIMClass(
        leaf,
        superclass=naming.classname(prefix, parent),
        qualifiers={name: q for name, q in cls.qualifiers.items() if not q.propagated},
        properties={name: p for name, p in cls.properties.items() if not p.propagated},
        methods={name: m for name, m in cls.methods.items() if not m.propagated},
    )
    return str(own.tomof())


def _prefix_base(superclass: str | None) -> str | None:
    """The generic name of ``superclass`` when it is a ``Virt_*`` class of :data:`PREFIX_BASES`."""
    if superclass is None:
        return None
    prefix, generic = naming.split_classname(superclass)
    if prefix.lower() != BASE_PREFIX.lower():
        return None
    return next((base for base in PREFIX_BASES if base.lower() == generic.lower()), None)


def _interop_leaf_mof(prefix: str, generic: str, dmtf: str) -> str:
    leaf = naming.classname(prefix, generic)
    profile = naming.classname(prefix, "RegisteredProfile")
    references = _PROFILE_REFERENCES.get(generic, ())
    qualifier = "[Association ( true )]\n" if references else ""
    body = "".join(f"   [Override ( \"{name}\" ), Key]\n   {profile} REF {name};\n"
                   for name in references)
    return f"{qualifier}class {leaf} : {dmtf} {{\n{body}}};\n"


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
