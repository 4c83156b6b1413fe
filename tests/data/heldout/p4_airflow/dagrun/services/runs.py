from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dagrun.models.dagrun import DagRun, TaskInstance
from dagrun.services.state import set_dag_run_state
from dagrun.tasks import task
from dagrun.utils.session import NEW_SESSION, create_session, provide_session


@provide_session
def get_dagrun(run_id: int, session: Session = NEW_SESSION) -> DagRun:
    run = session.get(DagRun, run_id)
    if run is None:
        raise LookupError(run_id)
    return run


@provide_session
def get_task_instances(run_id: int, session: Session = NEW_SESSION) -> Sequence[TaskInstance]:
    return session.scalars(select(TaskInstance).where(TaskInstance.run_id == run_id)).all()


@provide_session
def fail_run(run_id: int, session: Session = NEW_SESSION) -> None:
    run = get_dagrun(run_id, session=session)
    for ti in get_task_instances(run_id, session):
        ti.state = "failed"
    set_dag_run_state(run.id, "failed", session=session)


@provide_session
def retry_run(run_id: int, session: Session = NEW_SESSION) -> None:
    tis = get_task_instances(run_id)  # expect: session-not-forwarded
    for ti in tis:
        ti.state = "up_for_retry"
    set_dag_run_state(run_id, "queued")  # expect: session-not-forwarded


@provide_session
def clear_run(run_id: int, session: Session = NEW_SESSION) -> None:
    for ti in get_task_instances(run_id, session=session):
        ti.state = "none"
    session.commit()  # expect: session-borrowed-commit


@provide_session
def mark_all(dag_id: str, session: Session = NEW_SESSION) -> int:
    runs = DagRun.find(dag_id)  # expect: session-not-forwarded
    for run in DagRun.find(dag_id, session=session):
        run.refresh_from_db(session=session)
        run.refresh_from_db()  # expect: session-not-forwarded
    return len(runs)


@provide_session
def isolated_audit(run_id: int, session: Session = NEW_SESSION) -> None:
    with create_session() as audit:  # expect: session-nested-scope
        audit.add(TaskInstance(run_id=run_id))


def summarize(run_id: int) -> dict[str, Any]:
    # no session parameter: get_dagrun opens its own through @provide_session
    run = get_dagrun(run_id)
    return {"dag_id": run.dag_id}


@provide_session
def dashboard(run_id: int, session: Session = NEW_SESSION) -> dict[str, Any]:
    info = summarize(run_id)  # expect: session-callee-opens-scope
    info["tis"] = len(get_task_instances(run_id, session=session))
    return info


def retry_later(run_id: int) -> None:
    run = get_dagrun(run_id)  # expect: session-detached-use
    with create_session() as session:
        run.dag_id = run.dag_id.strip()
        session.add(run)


def load_runs(dag_id: str) -> Sequence[DagRun]:
    with create_session() as session:
        return session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()  # expect: session-detached-return


def load_run_ids(dag_id: str) -> list[int]:
    with create_session() as session:
        return [r.id for r in session.scalars(select(DagRun).where(DagRun.dag_id == dag_id))]


def cli_clear(run_id: int) -> None:
    # holds nothing: each provider call opens its own scope, fine
    clear_run(run_id)
    fail_run(run_id)


def cli_clear_atomic(run_id: int) -> None:
    with create_session() as session:
        clear_run(run_id, session=session)
        fail_run(run_id, session)
        set_dag_run_state(run_id, "failed", session=session)


@provide_session
def forward_kwargs(run_id: int, session: Session = NEW_SESSION, **kwargs: Any) -> None:
    set_dag_run_state(run_id, "success", session=session, **kwargs)


def splat_caller(run_id: int, session: Session) -> None:
    extra: dict[str, Any] = {"session": session}
    fail_run(run_id, **extra)
    get_dagrun(run_id, *[session])


@provide_session
def set_state_directly(run_id: int, session: Session = NEW_SESSION) -> None:
    run = get_dagrun(run_id, session=session)
    run.state = "success"  # expect: service-boundary
    setattr(run, "state", "failed")  # expect: service-boundary


@provide_session
def nested_impl(run_id: int, session: Session = NEW_SESSION) -> None:
    def _impl(sess: Session) -> None:
        fail_run(run_id, session=sess)
        get_dagrun(run_id, session=session)  # expect: session-mismatch

    _impl(session)


@task
def nightly_cleanup(session: Session = NEW_SESSION) -> None:
    for run in DagRun.find("cleanup", session=session):
        fail_run(run.id, session=session)
    session.commit()


@task
def nightly_bad(session: Session = NEW_SESSION) -> None:
    clear_run(1)  # expect: session-not-forwarded
    session.commit()


@provide_session
def with_begin(run_id: int, session: Session = NEW_SESSION) -> None:
    with session.begin_nested():
        fail_run(run_id, session=session)
        clear_run(run_id, session=session)


class RunManager:
    def __init__(self, session: Session) -> None:
        self.session = session

    def fail(self, run_id: int) -> None:
        fail_run(run_id, session=self.session)

    def clear(self, run_id: int) -> None:
        clear_run(run_id)  # expect: session-not-forwarded

    def summary(self, run_id: int) -> dict[str, Any]:
        return summarize(run_id)  # expect: session-callee-opens-scope
