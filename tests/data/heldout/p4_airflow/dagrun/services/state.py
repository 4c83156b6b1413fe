from sqlalchemy.orm import Session

from dagrun.models.dagrun import DagRun
from dagrun.utils.session import NEW_SESSION, provide_session


@provide_session
def set_dag_run_state(run_id: int, state: str, *, session: Session = NEW_SESSION) -> None:
    run = session.get(DagRun, run_id)
    if run is not None:
        run.state = state
