import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("messaging", "0002_client_id_unique_per_room"),
        ("rooms", "0005_membership_muted"),
    ]

    operations = [
        migrations.CreateModel(
            name="Digest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("email", models.EmailField(max_length=254)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name="NotificationSettings",
            fields=[
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="notification_settings", serialize=False, to=settings.AUTH_USER_MODEL)),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("email_verified_at", models.DateTimeField(blank=True, null=True)),
                ("notify_email", models.CharField(choices=[("off", "Off"), ("digest", "Digest")], default="digest", max_length=8)),
                ("notify_push", models.BooleanField(default=True)),
                ("language", models.CharField(blank=True, choices=[("en", "English"), ("ko", "Korean")], default="", max_length=8)),
                ("last_digest_at", models.DateTimeField(blank=True, null=True)),
                ("digest_due_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="PushSubscription",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("endpoint", models.URLField(max_length=1024, unique=True)),
                ("p256dh", models.CharField(max_length=100)),
                ("auth", models.CharField(max_length=40)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="push_subscriptions", to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name="Notice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("digest", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="notices", to="notifications.digest")),
                ("message", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="messaging.chatmessage")),
                ("room", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="rooms.chatroom")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "indexes": [models.Index(fields=["user", "digest", "created_at"], name="notice_pending_idx")],
                "constraints": [models.UniqueConstraint(fields=("user", "message"), name="notice_user_message_unique")],
            },
        ),
        migrations.CreateModel(
            name="PushDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("state", models.CharField(choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=8)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("notice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="notifications.notice")),
                ("subscription", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="notifications.pushsubscription")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("notice", "subscription"), name="push_delivery_unique")],
            },
        ),
    ]
