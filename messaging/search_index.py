"""The SQLite search index's triggers, kept present across schema changes.

SQLite cannot alter most columns in place: Django's schema editor rebuilds the table (a new
table, the rows copied, the old one dropped), and the old table's triggers go with it. A
later migration of ``ChatMessage`` would so leave ``messaging_search`` silently out of step.
After every ``migrate`` this puts back any missing trigger and, if one was missing, refills
the index from the live rows (the writes made meanwhile were not indexed). PostgreSQL's GIN
index is part of the table and survives on its own.
"""

from typing import Any

from django.db import connections

TRIGGERS = {
    "messaging_search_insert": """CREATE TRIGGER messaging_search_insert
       AFTER INSERT ON messaging_chatmessage WHEN new.deleted_at IS NULL BEGIN
         INSERT INTO messaging_search (rowid, body, room) VALUES (new.id, new.body, new.room_id);
       END""",
    # Only a write naming body or deleted_at (an edit, a delete) touches the index.
    "messaging_search_update": """CREATE TRIGGER messaging_search_update
       AFTER UPDATE OF body, deleted_at ON messaging_chatmessage BEGIN
         DELETE FROM messaging_search WHERE rowid = old.id;
         INSERT INTO messaging_search (rowid, body, room)
           SELECT new.id, new.body, new.room_id WHERE new.deleted_at IS NULL;
       END""",
    "messaging_search_delete": """CREATE TRIGGER messaging_search_delete
       AFTER DELETE ON messaging_chatmessage BEGIN
         DELETE FROM messaging_search WHERE rowid = old.id;
       END""",
}


def sqlite_triggers_ensure(*, using: str = "default", **_: Any) -> bool:
    """Recreate missing triggers (and refill the index); True if anything was missing.

    A ``post_migrate`` receiver: nothing to do on other engines or before the index exists.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'messaging_search%'")
        present = dict(cursor.fetchall())
        if present.get("messaging_search") != "table":
            return False  # the search migration has not run yet
        missing = [name for name in TRIGGERS if name not in present]
        if not missing:
            return False
        for name in missing:
            cursor.execute(TRIGGERS[name])
        cursor.execute("DELETE FROM messaging_search")
        cursor.execute(
            "INSERT INTO messaging_search (rowid, body, room) SELECT id, body, room_id"
            " FROM messaging_chatmessage WHERE deleted_at IS NULL"
        )
    return True
