"""Classical mapping: the domain dataclasses of `handlers.model` onto the tables.

The domain stays free of SQLAlchemy; the ORM instruments the classes once, here.
"""

from __future__ import annotations

from sqlalchemy.orm import registry

from storage.tables import MAPPED

mapper_registry = registry()
_mapped = False


def map_domain() -> None:
    global _mapped
    if _mapped:
        return
    for cls, table in MAPPED:
        mapper_registry.map_imperatively(cls, table)
    _mapped = True
