from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rooms", "0002_create_general_room")]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="muted",
            field=models.BooleanField(default=False),
        ),
    ]
