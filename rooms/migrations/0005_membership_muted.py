from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rooms", "0004_chatroom_slow_mode")]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="muted",
            field=models.BooleanField(default=False),
        ),
    ]
