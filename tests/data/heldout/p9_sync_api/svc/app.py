from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from mypy_session import SessionLike

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
        db.commit()
    except Exception:
        db.rollback()
        raise
    finally:
        db.close()


def find_user(user_id: int, session: Session | None = None) -> User | None:
    if session is None:
        return None
    return session.get(User, user_id)


def rename_user(user_id: int, name: str, session: Session | None = None) -> None:
    if session is None:
        with SessionLocal.begin() as session:
            rename_user(user_id, name, session=session)
        return
    user = find_user(user_id, session=session)
    if user:
        user.name = name


@app.post("/users/{user_id}")
def update_user(user_id: int, name: str, db: Session = Depends(get_db)) -> dict[str, str]:
    rename_user(user_id, name, session=db)
    db.commit()
    user = find_user(user_id, db)
    db.refresh(user)
    return {"name": user.name if user else ""}


@app.post("/users/{user_id}/bad")
def update_user_bad(user_id: int, name: str, db: Annotated[Session, Depends(get_db)]) -> None:
    rename_user(user_id, name)  # expect: session-not-forwarded
    db.commit()


def background_write(user_id: int, db: Session) -> None:
    rename_user(user_id, "bg", session=db)
    db.commit()  # expect: session-borrowed-commit


@dataclass
class UserRepo:
    session: Session

    def get(self, user_id: int) -> User | None:
        return find_user(user_id, session=self.session)

    def get_bad(self, user_id: int) -> User | None:
        return find_user(user_id)  # expect: session-not-forwarded


def with_protocol(session: SessionLike) -> None:
    find_user(1)  # expect: session-not-forwarded


def no_autoflush(session: Session) -> None:
    with session.no_autoflush:
        rename_user(1, "a", session=session)
        rename_user(2, "b")  # expect: session-not-forwarded


class UserService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def rename(self, user_id: int, name: str, session: Session | None = None) -> None:
        session = session or self.session
        rename_user(user_id, name, session=session)


def local_opened_then_closed() -> None:
    db = SessionLocal()
    try:
        rename_user(1, "x", session=db)
        db.commit()
    finally:
        db.close()


def job() -> None:
    with SessionLocal() as s:
        UserService(s).rename(1, "n")  # the receiver holds the session: not reported (SPEC section 4)
        UserRepo(s).get(1)
        s.commit()
