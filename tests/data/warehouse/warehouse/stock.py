"""Stock services: pass the `db` you hold, or leave it out for a transaction of its own."""
from warehouse.db import nightly_job, unit_of_work, with_session
from warehouse.models import Item


def find_item(sku, db=None):
    if db is None:
        with unit_of_work() as db:
            return _find(sku, db)
    return _find(sku, db)


def _find(sku, db):
    return db.query(Item).filter_by(sku=sku).first()


def receive(sku, qty, db=None):
    if db is None:
        with unit_of_work() as db:
            return _receive(sku, qty, db)
    return _receive(sku, qty, db)


def _receive(sku, qty, db):
    item = find_item(sku)  # planted: session-not-forwarded
    item.quantity += qty
    db.add(item)


def transfer(sku, qty, db):
    receive(sku, -qty, db=db)
    with unit_of_work() as other:  # planted: session-nested-scope
        receive(sku, qty, db=other)


@with_session
def count_items(session=None):
    return session.query(Item).count()


def report(db):
    return {"items": count_items()}  # planted: session-not-forwarded


@nightly_job
def recount(session):
    session.query(Item).update({"counted": True})
    session.commit()  # an owned session: the job ends its own transaction
