"""Jobs (``CIM_ConcreteJob``): work that outlasts the request that started it.

A method whose work can take long starts it with :meth:`JobRegistry.start`
and returns 4096 with the job's path. The work runs in a thread of its own
and is given a :class:`JobControl` to report progress and notice a
cancellation. A method that completes before it returns, yet hands its
client a job, runs its work with :meth:`JobRegistry.run`. Clients poll the
job (``JobState``, ``PercentComplete``, ``ElapsedTime``,
``ErrorCode``/``ErrorDescription``), cancel it with its
``RequestStateChange`` (4 Terminate, 5 Kill), and read ``GetError``. Each
change raises an indication (``CIM_InstCreation`` when the job is made,
``CIM_InstModification`` for each change of state or progress).

A finished job stays ``TimeBeforeRemoval`` (five minutes unless changed)
and is then removed, if ``DeleteOnCompletion``. Jobs are written to the
:class:`~virtcim.state.StateStore`: after a restart, a job that was still
running reads as failed (10 Exception, "interrupted"), never as running.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_NOT_FOUND,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from virtcim.repository.schema import Repository
from virtcim.state import StateStore
from virtcim.valuemaps import JobState, OperationalStatus

__all__ = ["JOB_CLASS", "Job", "JobCancelled", "JobControl", "JobRegistry"]

log = logging.getLogger(__name__)

JOB_CLASS = "CIM_ConcreteJob"
#: DMTF's default TimeBeforeRemoval.
DEFAULT_TIME_BEFORE_REMOVAL = timedelta(minutes=5)
#: What a job that was running when the server stopped says after the restart.
INTERRUPTED = "interrupted: the server stopped while the job ran"
#: How long closing waits for the threads of cancelled jobs to end.
_CLOSE_SECONDS = 10.0


FINISHED = frozenset({JobState.COMPLETED, JobState.TERMINATED, JobState.KILLED,
                      JobState.EXCEPTION})


class JobCancelled(Exception):
    """Raised by :meth:`JobControl.check` once a client has cancelled the job."""


@dataclass(frozen=True)
class Job:
    """One job as it is now (each change makes a new one)."""

    instance_id: str
    name: str
    namespace: str
    #: ``CIM_ConcreteJob`` or a subclass of it (libvirt-cim's ``KVM_MigrationJob``...).
    classname: str
    owner: CIMInstanceName | None
    affected: tuple[CIMInstanceName, ...]
    state: JobState
    started: datetime
    changed: datetime
    ended: datetime | None = None
    percent: int = 0
    status: str = "Running"
    error_code: int | None = None
    error_description: str | None = None
    time_before_removal: timedelta = DEFAULT_TIME_BEFORE_REMOVAL
    delete_on_completion: bool = True

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass
class JobControl:
    """What the work of a job is given: progress reports and the client's cancellation."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[int], None] = lambda percent: None

    def check(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled."""
        if self.cancelled.is_set():
            raise JobCancelled

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``; raise :class:`JobCancelled` as soon as the job is cancelled."""
        if self.cancelled.wait(seconds):
            raise JobCancelled


class JobRegistry:
    """The server's jobs; thread-safe.

    ``publish(indication, namespace)`` receives the job indications;
    ``clock`` gives the time (tests pass their own).
    """

    def __init__(self, repository: Repository, store: StateStore,
                 publish: Callable[[CIMInstance, str], None] = lambda ind, ns: None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._repository = repository
        self._store = store
        self._publish = publish
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._controls: dict[str, tuple[JobControl, Callable[[], None] | None]] = {}
        self._threads: list[threading.Thread] = []
        self._load()

    def start(self, name: str, namespace: str, work: Callable[[JobControl], None], *,
              owner: CIMInstanceName | None = None,
              affected: Sequence[CIMInstanceName] = (),
              cancel: Callable[[], None] | None = None,
              classname: str = JOB_CLASS) -> Job:
        """Run ``work`` in a thread of its own as a new job, Running.

        ``work`` returns when done and raises ``CIMError`` (or anything) when
        it fails; ``cancel`` is called (in the canceller's thread) when a
        client terminates the job, to stop what libvirt is doing. The job is an
        instance of ``classname``.
        """
        job, control = self._open(name, namespace, owner, affected, cancel, classname)
        thread = threading.Thread(target=self._run, args=(job.instance_id, work, control),
                                  name=f"job {name}", daemon=True)
        with self._lock:
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)
        thread.start()
        return job

    def run(self, name: str, namespace: str, work: Callable[[JobControl], None], *,
            owner: CIMInstanceName | None = None,
            affected: Sequence[CIMInstanceName] = (),
            classname: str = JOB_CLASS) -> Job:
        """Run ``work`` now, in the caller's thread, as a new job, and return the job
        finished: Completed, or Exception with the error ``work`` raised.

        For a method that completes before it returns and still hands its
        client a job, as libvirt-cim's snapshot did. Nobody can cancel it.
        """
        job, control = self._open(name, namespace, owner, affected, None, classname)
        self._run(job.instance_id, work, control)
        return self.get(job.instance_id)

    def get(self, instance_id: str) -> Job:
        self._remove_expired()
        job = self._jobs.get(instance_id)
        if job is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no job {instance_id!r}")
        return job

    def jobs(self) -> list[Job]:
        self._remove_expired()
        with self._lock:
            return list(self._jobs.values())

    def delete(self, instance_id: str) -> None:
        """Remove a finished job; a running one must be terminated first."""
        job = self.get(instance_id)
        if not job.finished:
            raise CIMError(CIM_ERR_FAILED, f"job {instance_id!r} is still running; "
                                           f"terminate it first")
        self._forget(instance_id)

    def terminate(self, instance_id: str, killed: bool = False) -> bool:
        """Cancel a running job; False when it has already finished."""
        job = self.get(instance_id)
        with self._lock:
            control, cancel = self._controls.get(instance_id, (None, None))
        if job.finished or control is None:
            return False
        control.cancelled.set()
        if cancel is not None:
            cancel()
        self._finish(instance_id, JobState.KILLED if killed else JobState.TERMINATED,
                     "Terminated by request", None,
                     "terminated by request; what was done so far stays as libvirt has it")
        return True

    def modify(self, instance_id: str, *, time_before_removal: timedelta | None = None,
               delete_on_completion: bool | None = None) -> None:
        changes: dict[str, Any] = {}
        if time_before_removal is not None:
            changes["time_before_removal"] = time_before_removal
        if delete_on_completion is not None:
            changes["delete_on_completion"] = delete_on_completion
        self._change(instance_id, asked=True, **changes)

    def path(self, job: Job) -> CIMInstanceName:
        """The path of ``job``, in its class."""
        return self._repository.build_path(job.namespace, job.classname,
                                           {"InstanceID": job.instance_id})

    def instance(self, job: Job) -> CIMInstance:
        """The instance of ``job``, of its class."""
        end = job.ended or self._clock()
        values = {
            "InstanceID": job.instance_id,
            "Name": job.name,
            "ElementName": job.name,
            "JobState": job.state,
            "JobStatus": job.status,
            "TimeOfLastStateChange": CIMDateTime(job.changed),
            "StartTime": CIMDateTime(job.started),
            "TimeSubmitted": CIMDateTime(job.started),
            "ElapsedTime": CIMDateTime(end - job.started),
            "TimeBeforeRemoval": CIMDateTime(job.time_before_removal),
            "DeleteOnCompletion": job.delete_on_completion,
            "PercentComplete": job.percent,
            "ErrorCode": job.error_code,
            "ErrorDescription": job.error_description,
            "OperationalStatus": _operational_status(job.state),
        }
        return self._repository.build_instance(job.namespace, job.classname, values)

    def close(self) -> None:
        """Cancel the jobs still running (they are recorded as interrupted) and wait a
        while for their threads, so that none outlives the hypervisor connections it uses."""
        with self._lock:
            controls = list(self._controls.values())
            threads = list(self._threads)
        for control, cancel in controls:
            control.cancelled.set()
            if cancel is not None:
                cancel()
        deadline = time.monotonic() + _CLOSE_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _open(self, name: str, namespace: str, owner: CIMInstanceName | None,
              affected: Sequence[CIMInstanceName], cancel: Callable[[], None] | None,
              classname: str) -> tuple[Job, JobControl]:
        """A new job, Running, stored and announced, and its control."""
        now = self._clock()
        job = Job(str(uuid.uuid4()), name, namespace, classname, owner, tuple(affected),
                  JobState.RUNNING, now, now)
        control = JobControl()
        control.progress = lambda percent: self._update(job.instance_id, percent=percent)
        try:
            self._save(job)
        except CIMError as error:
            raise CIMError(CIM_ERR_FAILED, f"job {name!r} not started: "
                                           f"{error.status_description}") from error
        with self._lock:
            self._jobs[job.instance_id] = job
            self._controls[job.instance_id] = (control, cancel)
        self._announce(None, job)
        return job, control

    # -- the job's thread -----------------------------------------------------

    def _run(self, instance_id: str, work: Callable[[JobControl], None],
             control: JobControl) -> None:
        try:
            work(control)
        except JobCancelled:
            return  # terminate() has recorded it
        except CIMError as error:
            self._finish(instance_id, JobState.EXCEPTION, "Failed", int(error.status_code),
                         error.status_description)
        except Exception as error:
            log.exception("job %s failed", instance_id)
            self._finish(instance_id, JobState.EXCEPTION, "Failed", CIM_ERR_FAILED, str(error))
        else:
            self._finish(instance_id, JobState.COMPLETED, "Completed", None, None, percent=100)

    def _finish(self, instance_id: str, state: JobState, status: str, code: int | None,
                description: str | None, **extra: Any) -> None:
        with self._lock:
            job = self._jobs.get(instance_id)
            if job is None or job.finished:
                return
            self._controls.pop(instance_id, None)
        now = self._clock()
        self._change(instance_id, state=state, status=status, error_code=code,
                     error_description=description, ended=now, changed=now, **extra)

    def _update(self, instance_id: str, percent: int) -> None:
        self._change(instance_id, percent=max(0, min(100, int(percent))))

    def _change(self, instance_id: str, *, asked: bool = False, **changes: Any) -> None:
        """Change a job in memory and in the store.

        A change a client ``asked`` for is refused, and nothing changed, when
        the store cannot take it. The job's own progress and end are kept in
        memory even then (the store error is logged), so that the job still
        ends as it did; the store keeps the job's last state it took, which
        after a restart reads as interrupted if that was running.
        """
        with self._lock:
            before = self._jobs.get(instance_id)
            if before is None:
                return
            after = replace(before, **changes)
            if after == before:
                return
            try:
                self._save(after)
            except CIMError:
                if asked:
                    raise
            self._jobs[instance_id] = after
        self._announce(before, after)

    def _announce(self, before: Job | None, after: Job) -> None:
        source = self.instance(after)
        values: dict[str, Any] = {
            "IndicationIdentifier": f"{after.instance_id}:{time.monotonic_ns()}",
            "IndicationTime": CIMDateTime.now(),
            "SourceInstance": source,
            "SourceInstanceModelPath": str(source.path),
        }
        classname = "CIM_InstCreation"
        if before is not None:
            classname = "CIM_InstModification"
            values["PreviousInstance"] = self.instance(before)
        try:
            indication: CIMInstance = self._repository.build_instance(after.namespace, classname,
                                                                      values)
            self._publish(indication, after.namespace)
        except Exception:
            log.exception("no indication for job %s", after.instance_id)

    # -- removal and persistence ----------------------------------------------

    def _remove_expired(self) -> None:
        now = self._clock()
        with self._lock:
            expired = [job.instance_id for job in self._jobs.values()
                       if job.finished and job.delete_on_completion and job.ended is not None
                       and now - job.ended >= job.time_before_removal]
        for instance_id in expired:
            with contextlib.suppress(CIMError):  # logged; removed at a later try
                self._forget(instance_id)

    def _forget(self, instance_id: str) -> None:
        with self._lock:
            self._store.delete(("job", instance_id))
            self._jobs.pop(instance_id, None)

    def _save(self, job: Job) -> None:
        self._store.put("job", job.instance_id, _record(job))

    def _load(self) -> None:
        for instance_id, body in self._store.records("job"):
            try:
                job = _job(body)
            except (KeyError, ValueError, TypeError) as error:
                log.error("stored job %r is not restored: %s", instance_id, error)
                continue
            if not job.finished:
                now = self._clock()
                job = replace(job, state=JobState.EXCEPTION, status="Interrupted",
                              error_code=CIM_ERR_FAILED, error_description=INTERRUPTED,
                              ended=now, changed=now)
                self._save(job)
            self._jobs[job.instance_id] = job


def _operational_status(state: JobState) -> list[OperationalStatus]:
    """DMTF's OperationalStatus of a job: OK while it runs, then Completed with OK, Error or
    Stopped."""
    if state == JobState.COMPLETED:
        return [OperationalStatus.OK, OperationalStatus.COMPLETED]
    if state == JobState.EXCEPTION:
        return [OperationalStatus.ERROR, OperationalStatus.COMPLETED]
    if state in (JobState.TERMINATED, JobState.KILLED):
        return [OperationalStatus.STOPPED, OperationalStatus.COMPLETED]
    return [OperationalStatus.OK]


def _record(job: Job) -> dict[str, Any]:
    return {
        "instance_id": job.instance_id, "name": job.name, "namespace": job.namespace,
        "classname": job.classname,
        "owner": _path_record(job.owner),
        "affected": [_path_record(path) for path in job.affected],
        "state": int(job.state), "started": job.started.isoformat(),
        "changed": job.changed.isoformat(),
        "ended": job.ended.isoformat() if job.ended else None,
        "percent": job.percent, "status": job.status, "error_code": job.error_code,
        "error_description": job.error_description,
        "time_before_removal": job.time_before_removal.total_seconds(),
        "delete_on_completion": job.delete_on_completion,
    }


def _job(body: dict[str, Any]) -> Job:
    ended = body.get("ended")
    return Job(
        instance_id=body["instance_id"], name=body["name"], namespace=body["namespace"],
        classname=str(body.get("classname", JOB_CLASS)),
        owner=_path(body.get("owner")),
        affected=tuple(p for p in map(_path, body.get("affected", [])) if p is not None),
        state=JobState(body["state"]), started=datetime.fromisoformat(body["started"]),
        changed=datetime.fromisoformat(body["changed"]),
        ended=datetime.fromisoformat(ended) if ended else None,
        percent=int(body.get("percent", 0)), status=str(body.get("status", "")),
        error_code=body.get("error_code"), error_description=body.get("error_description"),
        time_before_removal=timedelta(seconds=float(body["time_before_removal"])),
        delete_on_completion=bool(body.get("delete_on_completion", True)),
    )


def _path_record(path: CIMInstanceName | None) -> dict[str, Any] | None:
    if path is None:
        return None
    return {"classname": path.classname, "namespace": path.namespace,
            "keys": {name: str(value) if not isinstance(value, (int, bool)) else value
                     for name, value in path.keybindings.items()}}


def _path(record: dict[str, Any] | None) -> CIMInstanceName | None:
    if record is None:
        return None
    return CIMInstanceName(record["classname"], record["keys"], namespace=record["namespace"])
