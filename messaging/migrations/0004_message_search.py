"""Substring search over message bodies (messaging/search.py): a trigram index per engine.

PostgreSQL: the ``pg_trgm`` extension and a GIN index on ``UPPER(body::text)``, the
expression Django's ``icontains`` compares. SQLite: an FTS5 ``trigram`` table holding the
body and room of each live message, filled from the existing rows and kept in step by
triggers in the writing transaction. Each operation does nothing on the other engine.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

PG_INDEX = "message_body_trgm_idx"

SQLITE_UP = [
    "CREATE VIRTUAL TABLE messaging_search USING fts5(body, room UNINDEXED, tokenize = 'trigram')",
    """INSERT INTO messaging_search (rowid, body, room)
       SELECT id, body, room_id FROM messaging_chatmessage WHERE deleted_at IS NULL""",
    """CREATE TRIGGER messaging_search_insert AFTER INSERT ON messaging_chatmessage
       WHEN new.deleted_at IS NULL BEGIN
         INSERT INTO messaging_search (rowid, body, room) VALUES (new.id, new.body, new.room_id);
       END""",
    # Only a write naming body or deleted_at (an edit, a delete) touches the index; a reaction
    # or anything else leaves it alone.
    """CREATE TRIGGER messaging_search_update AFTER UPDATE OF body, deleted_at
       ON messaging_chatmessage BEGIN
         DELETE FROM messaging_search WHERE rowid = old.id;
         INSERT INTO messaging_search (rowid, body, room)
           SELECT new.id, new.body, new.room_id WHERE new.deleted_at IS NULL;
       END""",
    """CREATE TRIGGER messaging_search_delete AFTER DELETE ON messaging_chatmessage BEGIN
         DELETE FROM messaging_search WHERE rowid = old.id;
       END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messaging_search_delete",
    "DROP TRIGGER IF EXISTS messaging_search_update",
    "DROP TRIGGER IF EXISTS messaging_search_insert",
    "DROP TABLE IF EXISTS messaging_search",
]
PG_UP = [
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON messaging_chatmessage"
    " USING gin (UPPER(body::text) gin_trgm_ops)"
]
PG_DOWN = [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_replies_mentions_reactions"),
    ]

    operations = [
        TrigramExtension(),  # PostgreSQL only (it checks the vendor itself)
        migrations.RunPython(
            _run({"postgresql": PG_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
