"""MOF to :class:`~virtcim.repository.schema.Repository`, compiled once and cached.

pywbem's mock server compiles and resolves MOF (inherited properties,
propagated qualifiers, class origins); we read the resolved classes out of
its repository and keep nothing else of it.

Where the MOF comes from (:func:`load_repository` with no sources):

- ``schemas/`` (:data:`SCHEMA_DIR`): the DMTF CIM Schema subset. Its
  ``schema.mof`` includes the other files in compile order.
- ``mof/`` (:data:`MOF_DIR`, beside ``schemas/``): virtcim's own MOF.
  ``mof/*.mof`` are classes, shared by every namespace, compiled in file-name
  order (number the files where one needs another: ``10_virt.mof``,
  ``20_kvm.mof``). ``mof/<namespace>/*.mof``, with ``/`` in the namespace
  written ``_`` (``mof/root_interop/``), are the static instances of that
  namespace, also in file-name order. The folder may be absent.

Both folders are found beside the ``virtcim`` package (a source checkout);
the ``VIRTCIM_SCHEMA_DIR`` environment variable names another ``schemas/``
folder, and ``mof/`` is then its sibling.

Compiling takes seconds; the result (class, qualifier and instance lists)
is pickled into ``cache_dir`` under a key hashing every MOF text compiled,
the namespaces, the pywbem version and :data:`CACHE_FORMAT`, so a warm start
only reads the MOF files and unpickles. The cache directory must be writable
by the server alone: unpickling runs code from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pywbem
from pywbem import CIMClass, CIMInstance, CIMQualifierDeclaration

from virtcim.repository.schema import Repository

__all__ = [
    "CACHE_FORMAT",
    "MOF_DIR",
    "SCHEMA_DIR",
    "compile_mof_strings",
    "load_repository",
    "mof_dir",
    "schema_dir",
]

log = logging.getLogger(__name__)

#: Bump when the pickled layout changes, so old caches are not read.
CACHE_FORMAT = 1
SCHEMA_DIR_ENV = "VIRTCIM_SCHEMA_DIR"
#: A folder holding this file is compiled through it alone (it includes the rest).
INDEX_FILE = "schema.mof"
CACHE_PREFIX = "repository-"
CACHE_SUFFIX = ".pickle"


def schema_dir() -> Path:
    """The DMTF schema subset: ``$VIRTCIM_SCHEMA_DIR``, else ``schemas/`` of the checkout."""
    override = os.environ.get(SCHEMA_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "schemas"


def mof_dir() -> Path:
    """virtcim's own classes and static instances: ``mof/`` beside :func:`schema_dir`."""
    return schema_dir().parent / "mof"


SCHEMA_DIR = schema_dir()
MOF_DIR = mof_dir()


@dataclass(frozen=True)
class Mof:
    """One compilation unit: a MOF file (its includes resolved beside it) or a text."""

    name: str
    text: str
    path: Path | None = None


@dataclass
class CompilePlan:
    """Everything one compile reads, in order; its :meth:`key` names the result."""

    namespaces: Sequence[str]
    classes: list[Mof] = field(default_factory=list)
    instances: dict[str, list[Mof]] = field(default_factory=dict)
    #: Files a compiled file may include: part of the key, not compiled themselves.
    included: list[Mof] = field(default_factory=list)

    def key(self) -> str:
        digest = hashlib.sha256()
        for part in (f"format {CACHE_FORMAT}", f"pywbem {pywbem.__version__}", *self.namespaces):
            digest.update(part.encode() + b"\0")
        units = [("class", mof) for mof in self.classes]
        units += [("include", mof) for mof in self.included]
        units += [(f"instance {ns}", mof) for ns, mofs in self.instances.items() for mof in mofs]
        for role, mof in units:
            digest.update(f"{role} {mof.name} {len(mof.text)}\0{mof.text}\0".encode())
        return digest.hexdigest()


@dataclass
class Compiled:
    """What a compile produces: plain pywbem objects, cheap to pickle."""

    classes: list[CIMClass]
    qualifiers: list[CIMQualifierDeclaration]
    instances: dict[str, list[CIMInstance]]


def load_repository(
    *sources: str | os.PathLike[str],
    namespaces: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    instance_mof: Mapping[str, Sequence[str]] | None = None,
    extra_mof: Sequence[str] = (),
    cache_dir: str | os.PathLike[str] | None = None,
) -> Repository:
    """The repository of ``sources`` (default: :data:`SCHEMA_DIR`, :data:`MOF_DIR`).

    A source is a MOF file or a folder (see the module docstring: a folder's
    ``schema.mof``, else its ``*.mof`` in name order, and its per-namespace
    instance folders). ``extra_mof`` are class MOF texts made at start-up,
    compiled after the sources; ``instance_mof`` adds instance MOF texts per
    namespace (canonical name or alias). Classes are compiled into every
    namespace. With ``cache_dir`` the result is read from and saved to a cache.
    """
    aliases = dict(aliases or {})
    plan = plan_compile(
        [Path(src) for src in sources] if sources else default_sources(),
        namespaces,
        aliases,
        instance_mof or {},
        extra_mof,
    )
    cache = Path(cache_dir) / f"{CACHE_PREFIX}{plan.key()}{CACHE_SUFFIX}" if cache_dir else None
    compiled = read_cache(cache) if cache else None
    if compiled is None:
        compiled = compile_plan(plan)
        if cache:
            write_cache(cache, compiled)
    return Repository(
        compiled.classes, compiled.qualifiers, namespaces, aliases, compiled.instances
    )


def compile_mof_strings(
    schema_mof: Sequence[str],
    namespaces: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    instance_mof: Mapping[str, Sequence[str]] | None = None,
) -> Repository:
    """Compile class MOF (shared by all namespaces) and per-namespace instance MOF."""
    plan = plan_compile([], namespaces, dict(aliases or {}), instance_mof or {}, schema_mof)
    compiled = compile_plan(plan)
    return Repository(compiled.classes, compiled.qualifiers, namespaces, aliases,
                      compiled.instances)


# -- planning ------------------------------------------------------------------


def default_sources() -> list[Path]:
    """``schemas/``, and ``mof/`` once it exists."""
    return [SCHEMA_DIR, *([MOF_DIR] if MOF_DIR.is_dir() else [])]


def plan_compile(
    sources: Iterable[Path],
    namespaces: Sequence[str],
    aliases: Mapping[str, str],
    instance_mof: Mapping[str, Sequence[str]],
    extra_mof: Sequence[str],
) -> CompilePlan:
    """Read every MOF text the compile needs, in compile order."""
    plan = CompilePlan(namespaces=list(namespaces))
    for source in sources:
        if source.is_dir():
            add_folder(plan, source)
        else:
            plan.classes.append(read_mof(source))
            plan.included.extend(read_mof(path) for path in mof_files(source.parent)
                                 if path != source)
    plan.classes.extend(Mof(f"<extra {i}>", text) for i, text in enumerate(extra_mof))
    for namespace, texts in instance_mof.items():
        target = instance_namespace(namespace, namespaces, aliases)
        plan.instances.setdefault(target, []).extend(
            Mof(f"<{namespace} instances {i}>", text) for i, text in enumerate(texts)
        )
    return plan


def add_folder(plan: CompilePlan, folder: Path) -> None:
    """Add a folder's class files, and its instance folders of the plan's namespaces."""
    files = mof_files(folder)
    index = folder / INDEX_FILE
    if index in files:
        plan.classes.append(read_mof(index))
        plan.included.extend(read_mof(path) for path in files if path != index)
    else:
        plan.classes.extend(read_mof(path) for path in files)
    for namespace in plan.namespaces:
        instance_folder = folder / namespace.replace("/", "_")
        if instance_folder.is_dir():
            plan.instances.setdefault(namespace, []).extend(
                read_mof(path) for path in mof_files(instance_folder)
            )


def mof_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.mof") if path.is_file())


def read_mof(path: Path) -> Mof:
    """The file's text, named by its folder and file name (the cache key survives moves)."""
    return Mof(f"{path.parent.name}/{path.name}", path.read_text(encoding="utf-8"), path)


def instance_namespace(
    namespace: str, namespaces: Sequence[str], aliases: Mapping[str, str]
) -> str:
    """The canonical namespace ``namespace`` names; ``ValueError`` if none."""
    wanted = namespace.strip("/").lower()
    for name in namespaces:
        if name.lower() == wanted:
            return name
    for alias, target in aliases.items():
        if alias.lower() == wanted:
            return instance_namespace(target, namespaces, {})
    raise ValueError(f"instance MOF for unknown namespace {namespace!r}")


# -- compiling -----------------------------------------------------------------


def compile_plan(plan: CompilePlan) -> Compiled:
    """Compile with pywbem's mock server and take the resolved objects out."""
    # Imported here: a warm start never needs the compiler.
    from pywbem_mock import FakedWBEMConnection

    home = plan.namespaces[0]
    conn = FakedWBEMConnection(default_namespace=home)
    for mof in plan.classes:
        compile_unit(conn, mof, home)
    store = conn.cimrepository
    classes = list(store.get_class_store(home).iter_values())
    qualifiers = list(store.get_qualifier_store(home).iter_values())
    instances = {}
    for namespace, mofs in plan.instances.items():
        if namespace != home:
            # Instances need their classes in their own namespace: the
            # resolved objects go straight into its stores.
            conn.add_namespace(namespace)
            copy_objects(store.get_qualifier_store(namespace), qualifiers, "name")
            copy_objects(store.get_class_store(namespace), classes, "classname")
        for mof in mofs:
            compile_unit(conn, mof, namespace)
        instances[namespace] = list(store.get_instance_store(namespace).iter_values())
    return Compiled(classes, qualifiers, instances)


def compile_unit(conn: Any, mof: Mof, namespace: str) -> None:
    if mof.path is not None:
        conn.compile_mof_file(str(mof.path), namespace=namespace)
    else:
        conn.compile_mof_string(mof.text, namespace=namespace)


def copy_objects(object_store: Any, objects: Iterable[Any], name_attr: str) -> None:
    for obj in objects:
        object_store.create(getattr(obj, name_attr), obj)


# -- cache ---------------------------------------------------------------------


def read_cache(path: Path) -> Compiled | None:
    """The cached result, or ``None`` when absent, unreadable or not ours."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        compiled = pickle.loads(data)
    except Exception as exc:  # a damaged pickle can raise almost anything
        log.warning("ignoring unreadable repository cache %s: %s", path, exc)
        return None
    if not isinstance(compiled, Compiled):
        log.warning("ignoring repository cache %s: not a compiled repository", path)
        return None
    log.debug("repository read from cache %s", path)
    return compiled


def write_cache(path: Path, compiled: Compiled) -> None:
    """Save atomically (temporary file, then rename) and drop older entries.

    A missing or read-only folder only means no cache.
    """
    if not path.parent.is_dir():
        return
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{CACHE_PREFIX}", suffix=".tmp")
    except OSError as exc:
        log.info("repository not cached in %s: %s", path.parent, exc)
        return
    try:
        with os.fdopen(fd, "wb") as tmp:
            pickle.dump(compiled, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp_name, path)
    except OSError as exc:
        log.info("repository not cached in %s: %s", path.parent, exc)
        Path(tmp_name).unlink(missing_ok=True)
        return
    for old in path.parent.glob(f"{CACHE_PREFIX}*{CACHE_SUFFIX}"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
