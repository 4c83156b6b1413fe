from typing import List, Optional

from sqlalchemy.orm import Session as OrmSession

from legacy_app.db import S, DbSession, Session, get_db, timer, with_session, with_session_opts
from legacy_app.models import Item


def get_item(item_id, session=None):
    if session is None:
        with get_db() as session:
            return session.query(Item).get(item_id)
    return session.query(Item).get(item_id)


def find_item(item_id: int, session: Optional[OrmSession] = None) -> Item:
    if session is None:
        with get_db() as session:
            return session.query(Item).filter(Item.id == item_id).one()
    return session.query(Item).filter(Item.id == item_id).one()


def list_items(session: Session = None):
    return session.query(Item).all()


@timer
def timed_lookup(name: str, session: Optional[OrmSession] = None) -> Optional[Item]:
    if session is None:
        return None
    return session.query(Item).filter(Item.name == name).first()


@with_session
def count_items(session=None):
    return session.query(Item).count()


@with_session_opts(expire_on_commit=False)
def item_names(session: Optional[OrmSession] = None) -> List[str]:
    assert session is not None
    return [i.name for i in session.query(Item).all()]


def refresh_all(ids: List[int], session: Optional[S] = None) -> Optional[S]:
    if session is not None:
        for i in ids:
            get_item(i, session)
    return session


def rename(item_id: int, name: str, session: Optional[DbSession] = None) -> None:
    item = find_item(item_id, session=session)
    item.name = name


def restock_legacy(item_id, qty, session=None):
    item = get_item(item_id)  # expect: session-not-forwarded
    item.count += qty


def restock_forward(item_id, qty, session=None):
    item = get_item(item_id, session=session)
    other = get_item(item_id + 1, session)
    return item, other


def restock_kwargs(item_id, **kwargs):
    return get_item(item_id, **kwargs)


def all_names(session: Session = None):
    items = list_items()  # expect: session-not-forwarded
    return [i.name for i in items]


def all_names_ok(session: Session = None):
    return [i.name for i in list_items(session=session)]


def timed_caller(session: OrmSession) -> None:
    timed_lookup("flour")  # expect: session-not-forwarded
    timed_lookup("sugar", session)


def provider_caller(session: OrmSession) -> int:
    n = count_items()  # expect: session-not-forwarded
    return n + count_items(session=session)


def provider_factory_caller(session: OrmSession) -> List[str]:
    names = item_names()  # expect: session-not-forwarded
    return names + item_names(session=session)


def dashboard():
    # holds nothing: the providers open their own sessions, fine
    return count_items(), item_names()


def dashboard_summary(session: OrmSession):
    return dashboard()  # expect: session-callee-opens-scope


def typevar_caller(session: OrmSession) -> None:
    refresh_all([1, 2])  # expect: session-not-forwarded
    refresh_all([3], session=session)


def annotated_caller(session: OrmSession) -> None:
    rename(1, "a")  # expect: session-not-forwarded
    rename(2, "b", session)


def filtered_then_dropped(ids: List[int], session: OrmSession) -> None:
    rows = session.query(Item).filter(Item.id.in_(ids)).order_by(Item.id.desc()).all()
    for row in rows:
        find_item(row.id)  # expect: session-not-forwarded


def save_item(item, session=None):
    session.add(item)
    session.commit()  # expect: session-borrowed-commit


def save_item_typed(item: Item, session: Session = None) -> None:
    session.add(item)
    session.flush()


def reopen(session: OrmSession) -> None:
    with get_db() as session:  # expect: session-nested-scope
        session.add(Item(name="x"))


def nightly():
    with get_db() as db:
        get_item(1)  # expect: session-not-forwarded
        get_item(2, session=db)


def nightly_ok(session=None):
    if session is None:
        with get_db() as session:
            return nightly_ok(session=session)
    get_item(1, session=session)


def script_main():
    session = Session()
    try:
        restock_legacy(1, 2, session=session)
        session.commit()
    finally:
        session.close()


def load_then_save(item_id: int) -> None:
    item = find_item(item_id)  # expect: session-detached-use
    with get_db() as session:
        item.name = "renamed"
        session.add(item)
