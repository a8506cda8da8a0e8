"""Background tasks (django-tasks, database backend). Each is idempotent: see
``notifications.services``. Arguments are ids, read fresh when the task runs."""

from django_tasks import task

from notifications import services


@task()
def deliver_room(room_id: int) -> int:
    """``CHAT_PUSH_DELAY`` after a direct message or a mention starts a burst in a room:
    push the newest message owed to whoever has not read it and is not in the room; owe
    them all to their next digest."""
    return services.room_deliver(room_id=room_id)


@task()
def push_retry(delivery_id: int) -> int:
    return services.push_retry_run(delivery_id=delivery_id)


@task()
def send_digest(user_id: int) -> int:
    return services.digest_run(user_id=user_id)


@task()
def send_verification(user_id: int, email: str) -> bool:
    return services.verification_send(user_id=user_id, email=email)
