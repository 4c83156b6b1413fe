from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from dagrun.utils.session import NEW_SESSION, provide_session


class Base(DeclarativeBase):
    pass


class DagRun(Base):
    __tablename__ = "dag_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    state: Mapped[str] = mapped_column(String(50), default="queued")

    @classmethod
    @provide_session
    def find(cls, dag_id: str, session: Session = NEW_SESSION) -> Sequence[DagRun]:
        return session.scalars(select(cls).where(cls.dag_id == dag_id)).all()

    @provide_session
    def refresh_from_db(self, session: Session = NEW_SESSION) -> None:
        session.refresh(self)

    def set_state(self, state: str) -> None:
        self.state = state


class TaskInstance(Base):
    __tablename__ = "task_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(50), default="none")
