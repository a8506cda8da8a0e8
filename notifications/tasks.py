"""Background tasks (django-tasks, database backend). Each is idempotent: see
``notifications.services``. Arguments are ids, read fresh when the task runs."""

from django_tasks import task

from notifications import services


@task()
def deliver_message(message_id: int, mentioned_user_ids: list[int]) -> int:
    """``CHAT_PUSH_DELAY`` after a direct message or a mention: push it to whoever has not
    read it and is not in the room; owe it to their next digest."""
    return services.message_deliver(message_id=message_id, mentioned_user_ids=mentioned_user_ids)


@task()
def push_retry(delivery_id: int) -> int:
    return services.push_retry_run(delivery_id=delivery_id)


@task()
def send_digest(user_id: int) -> int:
    return services.digest_run(user_id=user_id)


@task()
def send_verification(user_id: int, email: str) -> bool:
    return services.verification_send(user_id=user_id, email=email)
