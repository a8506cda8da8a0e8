import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from tests.notifications.mailserver import smtp_port, start_smtp
from tests.notifications.pushservice import PushService


@pytest.fixture
def push_service(settings):
    with PushService() as service:
        settings.CHAT = {
            **settings.CHAT,
            "PUSH_ENDPOINTS": [f"{service.base_url}/push/"],
            "PUSH_DELAY": 0.0,
            "PUSH_TIMEOUT": 5.0,
        }
        yield service


@pytest.fixture
def smtp(settings):
    controller, inbox = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_port(controller)
    settings.EMAIL_USE_TLS = False
    settings.CHAT = {**settings.CHAT, "SITE_URL": "http://testserver", "PUSH_DELAY": 0.0}
    yield inbox
    controller.stop()


def run_due_tasks(limit: int = 1000) -> int:
    """Run every task due now, in this process, as django-tasks-db's worker does (claim,
    call, record) — the unit tests' worker. The worker *process* is tested in test_worker."""
    ran = 0
    while ran < limit:
        with transaction.atomic():
            result = DBTaskResult.objects.ready().first()
            if result is None:
                return ran
            result.claim("test")
        task_result = result.task_result
        try:
            value = result.task.call(*task_result.args, **task_result.kwargs)
        except Exception as exc:
            result.set_failed(exc)
            raise
        result.set_successful(value)
        ran += 1
    raise AssertionError("tasks keep coming")


def tasks_pending(name: str) -> list[DBTaskResult]:
    return [r for r in DBTaskResult.objects.filter(status="READY") if r.task_path.endswith(name)]
