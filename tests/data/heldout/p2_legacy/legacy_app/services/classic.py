from legacy_app.db import Session, get_db, timer, with_session
from legacy_app.models import Item
from legacy_app.services.items import get_item


def legacy_lookup(slug, db=None):
    return db.query(Item).filter(Item.name == slug).first()


def legacy_restock(slug, db=None):
    item = legacy_lookup(slug)  # expect: session-not-forwarded
    item2 = legacy_lookup(slug, db)
    return item, item2


def legacy_fix(slug, db=None):
    try:
        legacy_lookup(slug, db=db)
    except Exception:
        db.rollback()  # expect: session-borrowed-commit
        raise


class ItemService:
    def __init__(self, db):
        self.db = db

    def restock(self, item_id):
        get_item(item_id)  # expect: session-not-forwarded
        return get_item(item_id, session=self.db)

    @with_session
    def provided(self, item_id, session=None):
        return get_item(item_id, session=session)

    @timer
    @with_session
    def provided_timed(self, item_id, session=None):
        return get_item(item_id, session=session)


def uses_service(session=None):
    svc = ItemService(session)
    svc.provided(1)  # expect: session-not-forwarded
    svc.provided(1, session=session)
    svc.provided_timed(2)  # expect: session-not-forwarded
    svc.provided_timed(2, session=session)


def stacked_ok():
    svc = ItemService(None)
    return svc.provided(1), svc.provided_timed(2)


def legacy_script():
    db = Session()
    legacy_lookup("x")  # expect: session-not-forwarded
    legacy_lookup("y", db=db)
    db.commit()
    db.close()
