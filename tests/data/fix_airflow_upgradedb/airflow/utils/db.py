import contextlib
import logging
from typing import Optional

from sqlalchemy.orm import Session

from airflow.models import LogTemplate, Pool
from airflow.utils.session import NEW_SESSION, provide_session

log = logging.getLogger(__name__)


@provide_session
def add_default_pool_if_not_exists(session: Session = NEW_SESSION):
    """Add default pool if it does not exist."""
    if not Pool.get_pool(Pool.DEFAULT_POOL_NAME, session=session):
        default_pool = Pool(
            pool=Pool.DEFAULT_POOL_NAME,
            slots=128,
            description="Default pool",
        )
        session.add(default_pool)
        session.commit()


@provide_session
def synchronize_log_template(*, session: Session = NEW_SESSION) -> None:
    """Synchronize log template configs with table.

    This checks if the last row fully matches the current config values, and
    insert a new row if not.
    """
    stored = session.query(LogTemplate).order_by(LogTemplate.id.desc()).first()
    if stored is None or stored.filename != "{{ ti.dag_id }}/{{ ti.task_id }}":
        session.add(LogTemplate(filename="{{ ti.dag_id }}/{{ ti.task_id }}"))


@contextlib.contextmanager
def create_global_lock(session: Session, lock: int, lock_timeout=1800):
    """Contextmanager that will create and teardown a global db lock."""
    yield


@provide_session
def upgradedb(
    *,
    to_revision: Optional[str] = None,
    from_revision: Optional[str] = None,
    show_sql_only: bool = False,
    session: Session = NEW_SESSION,
):
    """
    Upgrades the DB.

    :param to_revision: Optional Alembic revision ID to upgrade *to*.
        If omitted, upgrades to latest revision.
    :param from_revision: Optional Alembic revision ID to upgrade *from*.
        Not compatible with ``sql_only=False``.
    :param show_sql_only: if True, migration statements will be printed but not executed.
    :param session: sqlalchemy session with connection to Airflow metadata database
    :return: None
    :rtype: None
    """
    if show_sql_only:
        return  # only running sql; our job is done

    with create_global_lock(session=session, lock=1):
        log.info("Creating tables")
    add_default_pool_if_not_exists()
    synchronize_log_template()
