from django.db import migrations


def create_general(apps, schema_editor):
    ChatRoom = apps.get_model("rooms", "ChatRoom")
    if not ChatRoom.objects.filter(kind="public", name__iexact="general").exists():
        ChatRoom.objects.create(kind="public", name="general")


def remove_general(apps, schema_editor):
    ChatRoom = apps.get_model("rooms", "ChatRoom")
    ChatRoom.objects.filter(kind="public", name="general", last_seq=0).delete()


class Migration(migrations.Migration):
    dependencies = [("rooms", "0001_initial")]
    operations = [migrations.RunPython(create_general, remove_general)]
