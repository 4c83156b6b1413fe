from typing import Optional

from sqlalchemy.orm import Session as OrmSession

from legacy_app.models import Item
from legacy_app.services.items import find_item


def set_count(item_id: int, count: int, session: Optional[OrmSession] = None) -> None:
    item = find_item(item_id, session=session)
    item.count = count
