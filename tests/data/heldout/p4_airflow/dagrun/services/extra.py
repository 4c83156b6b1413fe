from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from dagrun.models.dagrun import DagRun, TaskInstance
from dagrun.services.runs import fail_run, get_dagrun, get_task_instances
from dagrun.tasks import periodic
from dagrun.utils.session import NEW_SESSION, create_session, provide_session


class DagRunService:
    @staticmethod
    @provide_session
    def active(dag_id: str, *, session: Session = NEW_SESSION) -> Sequence[DagRun]:
        return session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()

    @provide_session
    def count(self, dag_id: str, *, session: Session = NEW_SESSION) -> int:
        return len(DagRunService.active(dag_id, session=session))

    @provide_session
    def count_bad(self, dag_id: str, *, session: Session = NEW_SESSION) -> int:
        return len(DagRunService.active(dag_id))  # expect: session-not-forwarded


def plain_borrowed(run_id: int, session: Session = NEW_SESSION) -> None:
    fail_run(run_id, session=session)
    session.commit()  # expect: session-borrowed-commit


@periodic(minutes=5)
def periodic_sweep(session: Session = NEW_SESSION) -> None:
    for run in DagRunService.active("sweep", session=session):
        fail_run(run.id, session=session)
    session.commit()


@periodic(minutes=5)
def periodic_bad(session: Session = NEW_SESSION) -> None:
    DagRunService().count("x")  # expect: session-not-forwarded
    session.commit()


def maybe_own(run_id: int, session: Session | None = None) -> None:
    if session is None:
        with create_session() as session:
            maybe_own(run_id, session=session)
        return
    get_task_instances(run_id, session=session)
    get_dagrun(run_id)  # expect: session-not-forwarded


def script_entry() -> None:
    with create_session() as session:
        for ti in get_task_instances(1, session=session):
            ti.state = "queued"
        maybe_own(1, session)
        DagRunService().count("a", session=session)
