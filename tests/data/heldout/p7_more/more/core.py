from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext

from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from mypy_session import MultiStep, OwnTransaction, ReadOnly, SingleStep

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(200))


@contextmanager
def session_scope(session: Session | None = None) -> Iterator[Session]:
    if session is not None:
        yield session
        return
    s = SessionLocal()
    try:
        yield s
        s.commit()
    finally:
        s.close()


@ReadOnly
def list_notes(session: Session | None = None) -> Sequence[Note]:
    if session is None:
        return []
    return session.scalars(select(Note)).all()


@SingleStep
def add_note(body: str, session: Session | None = None) -> None:
    with session_scope(session) as s:
        s.add(Note(body=body))


@OwnTransaction
def audit_log(msg: str, session: Session | None = None) -> None:
    with session_scope() as s:
        s.add(Note(body=msg))


@MultiStep
def rebuild_all() -> None:  # expect: session-missing-param
    add_note("a")
    add_note("b")


class TwoSessions:
    def __init__(self, read_session: Session, write_session: Session) -> None:
        self.read_session = read_session
        self.write_session = write_session

    def copy(self) -> None:
        notes = list_notes(session=self.read_session)
        for n in notes:
            add_note(n.body, session=self.write_session)


def callers(session: Session) -> None:
    list_notes()  # expect: session-read-not-forwarded
    audit_log("entered")
    add_note("x", session=session)
    with session_scope(session) as s:
        add_note("y", session=s)
        add_note("z")  # expect: session-not-forwarded


def alias_of_held(session: Session) -> None:
    db = session
    add_note("x", session=db)


def pattern_b_or(session: Session | None = None) -> None:
    session = session or SessionLocal()
    add_note("x", session=session)
    session.commit()


def pattern_b_inline(session: Session | None = None) -> None:
    with (nullcontext(session) if session is not None else session_scope()) as s:
        add_note("x", session=s)
        add_note("y")  # expect: session-not-forwarded


def pattern_b_wrong_name(session: Session | None = None) -> None:
    with (nullcontext(session) if session is not None else session_scope()) as s:
        add_note("x", session=session)  # expect: session-mismatch


def exit_stack(session: Session) -> None:
    with ExitStack() as stack:
        other = stack.enter_context(session_scope())  # expect: session-not-forwarded
        add_note("x", session=other)


def begin_with_as(session: Session) -> None:
    with session.begin_nested() as sp:
        add_note("x", session=session)
        sp.commit()


def owned_local_tx() -> None:
    with SessionLocal() as session, session.begin():
        add_note("x", session=session)
        list_notes(session)
        add_note("y")  # expect: session-not-forwarded


def object_session_pass(note: Note, session: Session) -> None:
    add_note(note.body, session=Session.object_session(note))


def run_sync_style(session: Session) -> None:
    def work(s: Session) -> None:
        add_note("x", session=s)
    work(session)


def reuse_opener_dropped(session: Session) -> None:
    with session_scope() as s:  # expect: session-not-forwarded
        add_note("x", session=s)
