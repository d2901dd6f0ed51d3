"""The operations layer's front door: DSP0200 semantics for every request.

:class:`Dispatcher` takes the calls the decoder produced, checks namespace
and parameters once, and answers from the class repository or from the
providers (see the result table in :mod:`virtcim.cimxml.messages`). It is also
the :class:`~virtcim.provider.Cimom` providers use to reach other instances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from pywbem import (
    CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED,
    CIM_ERR_NOT_SUPPORTED,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    CIMMethod,
)

from virtcim.authorization import Authorizer
from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, MethodResult, PullResult
from virtcim.jobs import JobRegistry
from virtcim.operations.associations import AssociationFilter, AssociationOperations
from virtcim.operations.classes import ClassOperations
from virtcim.operations.instances import InstanceOperations
from virtcim.operations.methods import MethodOperations
from virtcim.operations.params import OPERATIONS, parse_params
from virtcim.operations.pull import EnumerationContexts, PullSettings
from virtcim.operations.queries import QueryOperations, equalities_of
from virtcim.operations.shaping import FULL_VIEW, InstanceView, Shaper
from virtcim.provider import ProviderRegistry, RequestContext
from virtcim.query import Query
from virtcim.repository.schema import Repository

__all__ = ["Dispatcher"]

Args = dict[str, Any]

#: Pulled enumerations of instances and of paths never mix (DSP0200).
_INSTANCES = "instances"
_PATHS = "paths"
#: The kind PullInstances asks for; no Open* here makes one.
_QUERY = "query"


class Dispatcher:
    """Answers intrinsic and extrinsic calls; one per server, thread-safe.

    ``clock`` (seconds, monotonic) times enumeration contexts; tests pass
    their own. Call :meth:`close` to stop the context reaper.
    """

    def __init__(self, repository: Repository, registry: ProviderRegistry,
                 host: str = "localhost", pull: PullSettings | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 jobs: JobRegistry | None = None,
                 authorizer: Authorizer | None = None) -> None:
        self.repository = repository
        self.authorizer = authorizer or Authorizer()
        self.registry = registry
        self.host = host
        self.jobs = jobs
        shaper = Shaper(repository, host)
        self._classes = ClassOperations(repository)
        self._instances = InstanceOperations(repository, registry, shaper)
        self._associations = AssociationOperations(repository, registry, shaper,
                                                   self._instances)
        self._methods = MethodOperations(repository, registry, self._instances)
        self._queries = QueryOperations(repository, shaper, self._instances)
        self._contexts = EnumerationContexts(pull or PullSettings(), clock)
        self._handlers: dict[str, Callable[[RequestContext, Args], Any]] = {
            "GetClass": self._with_namespace(self._classes.get_class),
            "EnumerateClasses": self._with_namespace(self._classes.enumerate_classes),
            "EnumerateClassNames": self._with_namespace(self._classes.enumerate_class_names),
            "GetQualifier": self._with_namespace(self._classes.get_qualifier),
            "EnumerateQualifiers": self._with_namespace(self._classes.enumerate_qualifiers),
            "CreateClass": self._with_namespace(self._classes.refuse_change),
            "ModifyClass": self._with_namespace(self._classes.refuse_change),
            "DeleteClass": self._with_namespace(self._classes.refuse_change),
            "SetQualifier": self._with_namespace(self._classes.refuse_change),
            "DeleteQualifier": self._with_namespace(self._classes.refuse_change),
            "GetInstance": self._get_instance,
            "EnumerateInstances": self._enumerate_instances,
            "EnumerateInstanceNames": self._enumerate_instance_names,
            "CreateInstance": self._create_instance,
            "ModifyInstance": self._modify_instance,
            "DeleteInstance": self._delete_instance,
            "GetProperty": self._get_property,
            "SetProperty": self._set_property,
            "Associators": self._associators,
            "AssociatorNames": self._associator_names,
            "References": self._references,
            "ReferenceNames": self._reference_names,
            "ExecQuery": self._exec_query,
            "OpenEnumerateInstances": self._open_enumerate_instances,
            "OpenEnumerateInstancePaths": self._open_enumerate_instance_paths,
            "OpenAssociatorInstances": self._open_associator_instances,
            "OpenAssociatorInstancePaths": self._open_associator_instance_paths,
            "OpenReferenceInstances": self._open_reference_instances,
            "OpenReferenceInstancePaths": self._open_reference_instance_paths,
            "OpenQueryInstances": self._open_query_instances,
            "PullInstancesWithPath": self._pull(_INSTANCES),
            "PullInstancePaths": self._pull(_PATHS),
            "PullInstances": self._pull(_QUERY),
            "CloseEnumeration": self._close_enumeration,
            "EnumerationCount": self._enumeration_count,
        }
        assert self._handlers.keys() == OPERATIONS.keys()

    # -- the entry points -----------------------------------------------------

    def intrinsic(self, call: IntrinsicCall, user: str | None = None) -> Any:
        """The result of an intrinsic operation, as the messages table says.

        Iterable results are lazy: errors found before the first result are
        raised here, later provider failures while the caller iterates.
        """
        handler = self._handlers.get(call.name)
        if handler is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"operation {call.name} is not supported")
        namespace = self.repository.canonical_namespace(call.namespace)
        self.authorizer.check(user, namespace, call.name)
        args = _in_namespace(parse_params(call.name, call.params), namespace)
        return handler(self._context(namespace, user, call.namespace), args)

    def extrinsic(self, call: ExtrinsicCall, user: str | None = None) -> MethodResult:
        """Invoke a method; the result is typed by the method's declaration."""
        namespace = self.repository.canonical_namespace(call.namespace)
        self.authorizer.check(user, namespace, None)
        return self._methods.invoke(self._context(namespace, user, call.namespace), call)

    def method_signature(self, namespace: str, classname: str, method: str) -> CIMMethod:
        """The method's declaration, which types its response.

        The encoder reads the PARAMTYPE of the return value and of each
        output from it, where a value alone does not say its type (a NULL
        output, an empty array). It is the repository's object: never mutate it.
        """
        namespace = self.repository.canonical_namespace(namespace)
        return self._methods.signature(namespace, classname, method)

    def close(self) -> None:
        """Stop the enumeration-context reaper."""
        self._contexts.stop()

    @property
    def open_enumerations(self) -> int:
        """How many pulled enumerations are open (expired ones not yet reaped included)."""
        return len(self._contexts)

    # -- the Cimom protocol, for providers ------------------------------------

    def get_instance(self, ctx: RequestContext, path: CIMInstanceName) -> CIMInstance:
        return self._instances.get(self._reach(ctx, path.namespace), path)

    def enumerate_instances(self, ctx: RequestContext, namespace: str, classname: str
                            ) -> Iterator[CIMInstance]:
        return self._instances.enumerate(self._reach(ctx, namespace), classname)

    def enumerate_instance_names(self, ctx: RequestContext, namespace: str, classname: str
                                 ) -> Iterator[CIMInstanceName]:
        return self._instances.enumerate_names(self._reach(ctx, namespace), classname)

    def _reach(self, ctx: RequestContext, namespace: str | None) -> RequestContext:
        if namespace is None:
            return ctx
        canonical = self.repository.canonical_namespace(namespace)
        if canonical == ctx.namespace:
            return ctx
        return ctx.within(canonical)

    def _context(self, namespace: str, user: str | None, addressed: str) -> RequestContext:
        return RequestContext(namespace, self.repository, self, user, self.host,
                              addressed=addressed.strip("/"), jobs=self.jobs)

    @staticmethod
    def _with_namespace(func: Callable[[str, Args], Any]
                        ) -> Callable[[RequestContext, Args], Any]:
        return lambda ctx, args: func(ctx.namespace, args)

    # -- instances --------------------------------------------------------------

    def _get_instance(self, ctx: RequestContext, args: Args) -> CIMInstance:
        return self._instances.get(ctx, args["InstanceName"], _view(args))

    def _enumerate_instances(self, ctx: RequestContext, args: Args) -> Iterator[CIMInstance]:
        return self._instances.enumerate(ctx, args["ClassName"], _view(args))

    def _enumerate_instance_names(self, ctx: RequestContext, args: Args
                                  ) -> Iterator[CIMInstanceName]:
        return self._instances.enumerate_names(ctx, args["ClassName"])

    def _create_instance(self, ctx: RequestContext, args: Args) -> CIMInstanceName:
        return self._instances.create(ctx, args["NewInstance"])

    def _modify_instance(self, ctx: RequestContext, args: Args) -> None:
        self._instances.modify(ctx, args["ModifiedInstance"], args["PropertyList"])

    def _delete_instance(self, ctx: RequestContext, args: Args) -> None:
        self._instances.delete(ctx, args["InstanceName"])

    def _get_property(self, ctx: RequestContext, args: Args) -> Any:
        return self._instances.get_property(ctx, args["InstanceName"], args["PropertyName"])

    def _set_property(self, ctx: RequestContext, args: Args) -> None:
        self._instances.set_property(ctx, args["InstanceName"], args["PropertyName"],
                                     args["NewValue"])

    def _exec_query(self, ctx: RequestContext, args: Args) -> Iterator[CIMInstance]:
        _, selected = self._queries.execute(ctx, args["QueryLanguage"], args["Query"])
        return selected

    # -- associations -----------------------------------------------------------

    def _associators(self, ctx: RequestContext, args: Args) -> Any:
        source, flt = args["ObjectName"], _filter(args)
        if isinstance(source, CIMClassName):
            names = self._associations.class_associator_names(ctx.namespace, source, flt,
                                                              self.host)
            return self._associations.classes(ctx.namespace, names, args["IncludeQualifiers"],
                                              args["IncludeClassOrigin"], args["PropertyList"])
        return self._associations.associators(ctx, source, flt, _view(args))

    def _associator_names(self, ctx: RequestContext, args: Args) -> Any:
        source, flt = args["ObjectName"], _filter(args)
        if isinstance(source, CIMClassName):
            return self._associations.class_associator_names(ctx.namespace, source, flt,
                                                             self.host)
        return self._associations.associator_names(ctx, source, flt)

    def _references(self, ctx: RequestContext, args: Args) -> Any:
        source, flt = args["ObjectName"], _filter(args)
        if isinstance(source, CIMClassName):
            names = self._associations.class_reference_names(ctx.namespace, source, flt,
                                                             self.host)
            return self._associations.classes(ctx.namespace, names, args["IncludeQualifiers"],
                                              args["IncludeClassOrigin"], args["PropertyList"])
        return self._associations.references(ctx, source, flt, _view(args))

    def _reference_names(self, ctx: RequestContext, args: Args) -> Any:
        source, flt = args["ObjectName"], _filter(args)
        if isinstance(source, CIMClassName):
            return self._associations.class_reference_names(ctx.namespace, source, flt,
                                                            self.host)
        return self._associations.reference_names(ctx, source, flt)

    # -- pulled enumerations ----------------------------------------------------

    def _open_enumerate_instances(self, ctx: RequestContext, args: Args) -> PullResult:
        query = self._filter(ctx, args, args["ClassName"])
        return self._open(ctx, args, _INSTANCES, lambda: self._queries.filtered(
            query, _view(args), lambda view: self._instances.enumerate(
                ctx, args["ClassName"], view, equalities_of(query))))

    def _open_enumerate_instance_paths(self, ctx: RequestContext, args: Args) -> PullResult:
        query = self._filter(ctx, args, args["ClassName"])
        if query is None:
            return self._open(ctx, args, _PATHS, lambda: self._instances.enumerate_names(
                ctx, args["ClassName"]))
        return self._open(ctx, args, _PATHS, lambda: _paths(self._queries.filtered(
            query, FULL_VIEW, lambda view: self._instances.enumerate(
                ctx, args["ClassName"], view, query.equalities()))))

    def _open_associator_instances(self, ctx: RequestContext, args: Args) -> PullResult:
        query = self._filter(ctx, args, args["ResultClass"])
        return self._open(ctx, args, _INSTANCES, lambda: self._queries.filtered(
            query, _view(args), lambda view: self._associations.associators(
                ctx, args["InstanceName"], _filter(args), view)))

    def _open_associator_instance_paths(self, ctx: RequestContext, args: Args) -> PullResult:
        query = self._filter(ctx, args, args["ResultClass"])
        if query is None:
            return self._open(ctx, args, _PATHS, lambda: self._associations.associator_names(
                ctx, args["InstanceName"], _filter(args)))
        return self._open(ctx, args, _PATHS, lambda: _paths(self._queries.filtered(
            query, FULL_VIEW, lambda view: self._associations.associators(
                ctx, args["InstanceName"], _filter(args), view))))

    def _open_reference_instances(self, ctx: RequestContext, args: Args) -> PullResult:
        query = self._filter(ctx, args, args["ResultClass"])
        return self._open(ctx, args, _INSTANCES, lambda: self._queries.filtered(
            query, _view(args), lambda view: self._associations.references(
                ctx, args["InstanceName"], _filter(args), view)))

    def _open_reference_instance_paths(self, ctx: RequestContext, args: Args) -> PullResult:
        query = self._filter(ctx, args, args["ResultClass"])
        if query is None:
            return self._open(ctx, args, _PATHS, lambda: self._associations.reference_names(
                ctx, args["InstanceName"], _filter(args)))
        return self._open(ctx, args, _PATHS, lambda: _paths(self._queries.filtered(
            query, FULL_VIEW, lambda view: self._associations.references(
                ctx, args["InstanceName"], _filter(args), view))))

    def _open_query_instances(self, ctx: RequestContext, args: Args) -> PullResult:
        query, selected = self._queries.execute(ctx, args["FilterQueryLanguage"],
                                                args["FilterQuery"])
        result = self._open(ctx, args, _QUERY, lambda: selected)
        if args["ReturnQueryResultClass"]:
            result.query_result_class = self._queries.result_class(ctx, query)
        return result

    def _filter(self, ctx: RequestContext, args: Args, classname: str | None) -> Query | None:
        """The request's FilterQuery, checked against ``classname`` when one is known."""
        return self._queries.filter(ctx, args["FilterQueryLanguage"], args["FilterQuery"],
                                    classname)

    def _open(self, ctx: RequestContext, args: Args, kind: str,
              results: Callable[[], Iterator[Any]]) -> PullResult:
        """Check what every Open* shares, then start the enumeration."""
        if args["ContinueOnError"]:
            raise CIMError(CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED,
                           "ContinueOnError is not supported")
        timeout = self._contexts.timeout(args["OperationTimeout"])
        return self._contexts.open(kind, ctx.namespace, ctx.user, results(), timeout,
                                   args["MaxObjectCount"])

    def _pull(self, kind: str) -> Callable[[RequestContext, Args], PullResult]:
        def pull(ctx: RequestContext, args: Args) -> PullResult:
            return self._contexts.pull(kind, ctx.namespace, args["EnumerationContext"],
                                       ctx.user, args["MaxObjectCount"])
        return pull

    def _close_enumeration(self, ctx: RequestContext, args: Args) -> None:
        self._contexts.close(ctx.namespace, args["EnumerationContext"], ctx.user)

    def _enumeration_count(self, ctx: RequestContext, args: Args) -> int | None:
        return self._contexts.count(ctx.namespace, args["EnumerationContext"], ctx.user)


def _in_namespace(args: Args, namespace: str) -> Args:
    """Name the request's objects by the canonical spelling of its namespace.

    A client may address ``interop`` and mean ``root/interop``; paths
    compare by namespace, so they must all use one spelling.
    """
    for name in ("InstanceName", "ObjectName"):
        path = args.get(name)
        if path is not None:
            path.namespace = namespace  # the request's own decoded path
    return args


def _view(args: Args) -> InstanceView:
    """The instance view of a request; DeepInheritance=false keeps the asked class's."""
    declared_in = None
    if args.get("DeepInheritance") is False:
        declared_in = args["ClassName"]
    return InstanceView.of(args["PropertyList"], args["IncludeClassOrigin"], declared_in)


def _paths(instances: Iterator[CIMInstance]) -> Iterator[CIMInstanceName]:
    return (inst.path for inst in instances)


def _filter(args: Args) -> AssociationFilter:
    return AssociationFilter(args.get("AssocClass"), args.get("ResultClass"), args.get("Role"),
                             args.get("ResultRole"))

