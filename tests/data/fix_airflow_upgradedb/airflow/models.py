from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Pool(Base):
    __tablename__ = "slot_pool"
    DEFAULT_POOL_NAME = "default_pool"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool: Mapped[str] = mapped_column(String(256))
    slots: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(256))

    @staticmethod
    def get_pool(pool_name: str, session: Session) -> Pool | None:
        return session.query(Pool).filter(Pool.pool == pool_name).first()


class LogTemplate(Base):
    __tablename__ = "log_template"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(256))
