"""``CIM_ConcreteJob`` and its associations, served from a :class:`~virtcim.jobs.JobRegistry`.

Jobs are read (GetInstance, EnumerateInstances), deleted once finished,
changed (``TimeBeforeRemoval``, ``DeleteOnCompletion``), cancelled with
``RequestStateChange`` (4 Terminate, 5 Kill) and asked ``GetError``.
``CIM_AffectedJobElement`` links a job to what it changes (a guest),
``CIM_OwningJobElement`` the service that started it to the job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from virtcim.jobs import JOB_CLASS, JobRegistry
from virtcim.provider import (
    AssociationProvider,
    InstanceProvider,
    MethodProvider,
    ProviderRegistry,
    RequestContext,
    cim_method,
)
from virtcim.repository.schema import Repository
from virtcim.valuemaps import ElementEffects, ErrorType, JobRequestedState, PerceivedSeverity

__all__ = ["ConcreteJobProvider", "JobLinksProvider", "register_jobs"]

AFFECTED_JOB_ELEMENT = "CIM_AffectedJobElement"
OWNING_JOB_ELEMENT = "CIM_OwningJobElement"
#: What RequestStateChange and GetError of a job return (their ValueMaps).
_DONE, _NOT_SUPPORTED, _INVALID_STATE_TRANSITION = 0, 1, 4097
_CHANGEABLE = {"timebeforeremoval", "deleteoncompletion"}


class ConcreteJobProvider(InstanceProvider, MethodProvider):
    """The jobs of the server's long methods."""

    def __init__(self, jobs: JobRegistry) -> None:
        self.jobs = jobs

    def enumerate_instances(self, ctx: RequestContext, classname: str,
                            property_list: Sequence[str] | None) -> Iterable[CIMInstance]:
        return [self.jobs.instance(job) for job in self.jobs.jobs()
                if job.namespace == ctx.namespace and job.classname.lower() == classname.lower()]

    def get_instance(self, ctx: RequestContext, path: CIMInstanceName,
                     property_list: Sequence[str] | None) -> CIMInstance:
        job = self.jobs.get(_instance_id(path))
        if job.classname.lower() != path.classname.lower() and not ctx.repository.is_subclass(
                ctx.namespace, job.classname, path.classname):
            raise CIMError(CIM_ERR_NOT_FOUND, f"job {job.instance_id!r} is a {job.classname}, "
                                              f"no {path.classname}")
        return self.jobs.instance(job)

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        self.jobs.delete(_instance_id(path))

    def modify_instance(self, ctx: RequestContext, instance: CIMInstance,
                        property_list: Sequence[str] | None) -> None:
        instance_id = _instance_id(instance.path)
        current = self.jobs.instance(self.jobs.get(instance_id))
        names = property_list if property_list is not None else list(instance.properties)
        changes: dict[str, Any] = {}
        for name in names:
            value = instance.properties[name].value if name in instance.properties else None
            if name.lower() == "timebeforeremoval" and isinstance(value, CIMDateTime):
                if value.timedelta is None:
                    raise CIMError(CIM_ERR_INVALID_PARAMETER,
                                   "TimeBeforeRemoval must be an interval")
                changes["time_before_removal"] = value.timedelta
            elif name.lower() == "deleteoncompletion" and value is not None:
                changes["delete_on_completion"] = bool(value)
            elif name.lower() not in _CHANGEABLE and current.get(name) != value:
                raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{JOB_CLASS}.{name} cannot be changed")
        self.jobs.modify(instance_id, **changes)

    @cim_method
    def RequestStateChange(self, ctx: RequestContext, target: CIMInstanceName,
                           **params: Any) -> int:
        """4 Terminate and 5 Kill cancel a running job; the others are not supported."""
        requested = params.get("RequestedState")
        if requested not in JobRequestedState.__members__.values():
            return _NOT_SUPPORTED
        cancelled = self.jobs.terminate(_instance_id(target),
                                        killed=requested == JobRequestedState.KILL)
        return _DONE if cancelled else _INVALID_STATE_TRANSITION

    @cim_method
    def GetError(self, ctx: RequestContext, target: CIMInstanceName,
                 **params: Any) -> tuple[int, dict[str, Any]]:
        """The job's error as an embedded ``CIM_Error``; none for a job without one."""
        job = self.jobs.get(_instance_id(target))
        if job.error_code is None:
            return _DONE, {}
        error = ctx.instance("CIM_Error", ErrorType=ErrorType.SOFTWARE_ERROR,
                             PerceivedSeverity=PerceivedSeverity.FATAL,
                             OwningEntity="virtcim", Message=job.error_description,
                             CIMStatusCode=job.error_code, ErrorSource=job.name)
        return _DONE, {"Error": error}


class JobLinksProvider(AssociationProvider):
    """``CIM_AffectedJobElement`` and ``CIM_OwningJobElement``."""

    def __init__(self, jobs: JobRegistry) -> None:
        self.jobs = jobs

    def enumerate_instances(self, ctx: RequestContext, classname: str,
                            property_list: Sequence[str] | None) -> Iterable[CIMInstance]:
        for job in self.jobs.jobs():
            if job.namespace != ctx.namespace:
                continue
            path = ctx.path(job.classname, InstanceID=job.instance_id)
            if classname.lower() == AFFECTED_JOB_ELEMENT.lower():
                for element in job.affected:
                    yield ctx.instance(classname, AffectedElement=element, AffectingElement=path,
                                       ElementEffects=[ElementEffects.OTHER])
            elif job.owner is not None:
                yield ctx.instance(classname, OwningElement=job.owner, OwnedElement=path)


def _instance_id(path: CIMInstanceName) -> str:
    instance_id = path.keybindings.get("InstanceID")
    return instance_id if isinstance(instance_id, str) else ""


def register_jobs(registry: ProviderRegistry, repository: Repository, namespace: str,
                  jobs: JobRegistry) -> None:
    """Serve ``jobs`` in ``namespace``, as ``CIM_ConcreteJob`` and each of its subclasses."""
    classes = [JOB_CLASS, *repository.subclassnames(namespace, JOB_CLASS, deep=True)]
    registry.register(namespace, classes, ConcreteJobProvider(jobs))
    registry.register(namespace, [AFFECTED_JOB_ELEMENT, OWNING_JOB_ELEMENT], JobLinksProvider(jobs))


