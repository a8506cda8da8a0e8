from django.db import migrations, models


def fill_name_keys(apps, schema_editor):
    """Existing public rooms get their key; a room whose key another already has (names
    that only differ by width or case folding) keeps its name and gets a key of its own."""
    from chatsite.foundation.text import name_key

    ChatRoom = apps.get_model("rooms", "ChatRoom")
    seen: set[str] = set()
    for room in ChatRoom.objects.filter(kind="public").order_by("id"):
        key = name_key(room.name)
        if key in seen:
            key = f"{key}#{room.id}"
        seen.add(key)
        room.name_key = key
        room.save(update_fields=["name_key"])


class Migration(migrations.Migration):
    dependencies = [("rooms", "0005_membership_muted")]

    operations = [
        migrations.AddField(
            model_name="chatroom",
            name="name_key",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="chatroom",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "public"), models.Q(("name_key", ""), _negated=True)),
                fields=("name_key",),
                name="room_public_name_key_unique",
            ),
        ),
    ]
