"""The import graph of ``virtcim/`` and ``providers/``, read from the source.

Every import counts, at the top of a module or inside a function (both run),
except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("virtcim", "providers")


def modules() -> dict[str, Path]:
    """Every module of the two packages, by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield from _runtime_imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _runtime_imports(node)


def imported_by(name: str) -> set[str]:
    """The modules of the two packages that module ``name`` imports when it runs.

    ``from package import name`` counts as an import of the submodule when
    there is one, else of the package.
    """
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(parts + ([node.module] if node.module else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in MODULES:
                found.add(submodule)
            elif base in MODULES:
                found.add(base)
    found.discard(name)
    return found


GRAPH = {name: imported_by(name) for name in MODULES}


def cycle_through(start: str) -> list[str] | None:
    """A chain of imports from ``start`` back to itself, if there is one (depth first)."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        name, chain = stack.pop()
        for target in GRAPH[name]:
            if target == start:
                return [*chain, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*chain, target]))
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_itself_back(name):
    assert cycle_through(name) is None


def test_the_graph_is_read_from_every_module():
    """The parser finds the imports it must: a check on the test itself."""
    assert "providers.paths" in GRAPH["providers.system_associations"]
    assert "providers.virt.mapping.base" in GRAPH["providers.virt.mapping"]
    assert len(MODULES) > 90


def test_the_bridge_imports_the_providers_only_where_the_application_is_wired():
    importers = {name for name, targets in GRAPH.items() if name.startswith("virtcim")
                 and any(target.startswith("providers") for target in targets)}  # fmt: skip
    assert importers <= {"virtcim.app"}


def test_libvirt_is_imported_only_by_the_adapter():
    """Not even for type hints: outside ``providers/virt/`` the code speaks CIM."""
    importers = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            roots = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""])  # fmt: skip
            if any(root.split(".")[0] == "libvirt" for root in roots):
                importers.add(name)
    assert importers and all(name.startswith("providers.virt.") for name in importers)
