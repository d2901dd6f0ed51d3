"""MOF to :class:`~virtcim.repository.schema.Repository`.

pywbem's mock server compiles and resolves MOF (inherited properties,
propagated qualifiers, class origins); we read the resolved classes out of
its repository and keep nothing else of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pywbem_mock import FakedWBEMConnection

from virtcim.repository.schema import Repository

__all__ = ["compile_mof_strings"]


def compile_mof_strings(
    schema_mof: Sequence[str],
    namespaces: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    instance_mof: Mapping[str, Sequence[str]] | None = None,
) -> Repository:
    """Compile class MOF (shared by all namespaces) and per-namespace instance MOF."""
    conn = FakedWBEMConnection(default_namespace=namespaces[0])
    for text in schema_mof:
        conn.compile_mof_string(text, namespace=namespaces[0])
    store = conn.cimrepository
    classes = list(store.get_class_store(namespaces[0]).iter_values())
    qualifiers = list(store.get_qualifier_store(namespaces[0]).iter_values())
    instances = {}
    for namespace, texts in (instance_mof or {}).items():
        if namespace not in conn.namespaces:
            # Instances need their classes in their own namespace; the mock
            # server cannot take resolved classes back, so compile again.
            conn.add_namespace(namespace)
            for text in schema_mof:
                conn.compile_mof_string(text, namespace=namespace)
        for text in texts:
            conn.compile_mof_string(text, namespace=namespace)
        instances[namespace] = list(store.get_instance_store(namespace).iter_values())
    return Repository(classes, qualifiers, namespaces, aliases, instances)

