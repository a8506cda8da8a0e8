from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS

from accounts.models import User
from messaging.models import ChatMessage
from messaging.services import message_delete, message_edit, message_send
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory, direct_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = User.objects.create_superuser("admin", "admin@example.com", "a long pass phrase 42")
    client.force_login(staff)
    client.staff = staff
    return client


def test_superuser_gets_a_chat_identity():
    staff = User.objects.create_superuser("boss", "b@example.com", "a long pass phrase 42")
    assert staff.nickname == "boss" and len(staff.tag) == 4 and staff.is_guest is False


def test_admin_ban_action_deactivates(staff_client):
    target = UserFactory()
    response = staff_client.post(
        "/admin/accounts/user/", {"action": "ban", "_selected_action": [target.pk]}, follow=True
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.is_active is False


def test_admin_finds_a_user_by_nickname_and_tag(staff_client):
    target = UserFactory(nickname="QuietOtter", tag="4821")
    UserFactory(nickname="QuietOtter", tag="1111")
    response = staff_client.get("/admin/accounts/user/", {"q": "QuietOtter#4821"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert list(response.context["cl"].result_list) == [target]


def test_admin_remove_action_uses_the_delete_service(staff_client):
    room = PublicRoomFactory()
    message, _ = message_send(room_id=room.id, author=UserFactory(), body="spam", client_id="s")
    staff_client.post(
        "/admin/messaging/chatmessage/", {"action": "remove", "_selected_action": [message.pk]}
    )
    message.refresh_from_db()
    assert (message.body, message.rev, message.deleted_at is not None) == ("", 2, True)


def test_admin_searches_messages_by_body(staff_client):
    room = PublicRoomFactory()
    message_send(room_id=room.id, author=UserFactory(), body="find the needle", client_id="n")
    message_send(room_id=room.id, author=UserFactory(), body="hay", client_id="h")
    response = staff_client.get("/admin/messaging/chatmessage/", {"q": "needle"})
    assert response.context["cl"].result_count == 1
    assert ChatMessage.objects.count() == 2


def test_staff_browse_the_api_with_their_session(staff_client):
    response = staff_client.get("/api/rooms/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"general" in response.content


def test_openapi_schema_and_docs_are_served_offline(client, capsys):
    GENERATOR_STATS.reset()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert not GENERATOR_STATS, capsys.readouterr().err  # drf-spectacular warned or erred
    assert b"/api/rooms/{room_id}/messages/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content.lower()
    assert b"/static/drf_spectacular_sidecar/" in docs.content


def _conforms(value: Any, schema: dict[str, Any], components: dict[str, Any], at: str) -> None:
    """``value`` has exactly the shape ``schema`` (OpenAPI 3.0, as drf-spectacular writes it)
    declares: no key it does not list, every key it requires, the declared types."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if value is None:
        assert schema.get("nullable"), f"{at} is null, not nullable in the schema"
        return
    if "allOf" in schema:
        for part in schema["allOf"]:
            _conforms(value, part, components, at)
        return
    kind = schema.get("type", "object")
    if kind == "object":
        assert isinstance(value, dict), at
        properties = schema.get("properties", {})
        if properties:
            assert set(value) <= set(properties), f"{at}: undeclared {set(value) - set(properties)}"
        assert set(schema.get("required", ())) <= set(value), f"{at}: required keys missing"
        for key, item in value.items():
            if key in properties:
                _conforms(item, properties[key], components, f"{at}.{key}")
    elif kind == "array":
        assert isinstance(value, list), at
        for n, item in enumerate(value):
            _conforms(item, schema["items"], components, f"{at}[{n}]")
    else:
        types = {"integer": int, "string": str, "boolean": bool, "number": (int, float)}
        assert isinstance(value, types[kind]), f"{at}: {value!r} is not {kind}"
        assert kind != "integer" or not isinstance(value, bool), at
        if "enum" in schema:
            assert value in schema["enum"], at


def test_real_responses_have_exactly_the_schema_shapes(client, api, guest_client, settings):
    """The schema is generated from the serializers that build the responses: check real
    bodies (rooms of both kinds, edited and deleted messages, errors) against it."""
    spec = client.get("/api/schema/", {"format": "json"}).json()
    components = spec["components"]["schemas"]
    owner, me = guest_client(), guest_client()
    listing = ListingFactory(owner=owner.user)
    room = direct_room(listing=listing, borrower=me.user)
    first, _ = message_send(room_id=room.id, author=owner.user, body="hi", client_id="a")
    gone, _ = message_send(room_id=room.id, author=me.user, body="oops", client_id="b")
    message_edit(message_id=first.id, by=owner.user, body="hello")
    message_delete(message_id=gone.id, by=me.user)
    settings.CHAT = {**settings.CHAT, "GUEST_RATE": "1/minute"}

    def check(response: Any, path: str, method: str = "get") -> None:
        operation = spec["paths"][path][method]
        content = operation["responses"][str(response.status_code)]["content"]
        _conforms(response.json(), content["application/json"]["schema"], components, path)

    check(me.get("/api/me/"), "/api/me/")
    check(me.get("/api/rooms/"), "/api/rooms/")
    check(me.get(f"/api/rooms/{room.id}/"), "/api/rooms/{room_id}/")
    check(me.get(f"/api/rooms/{room.id}/messages/"), "/api/rooms/{room_id}/messages/")
    check(me.get("/api/rooms/?kind=odd"), "/api/rooms/")
    check(me.get(f"/api/rooms/{room.id}/messages/?limit=0"), "/api/rooms/{room_id}/messages/")
    check(guest_client().get(f"/api/rooms/{room.id}/"), "/api/rooms/{room_id}/")
    check(me.get("/api/listings/"), "/api/listings/")
    check(me.post(f"/api/listings/{listing.id}/chat/"), "/api/listings/{listing_id}/chat/", "post")
    check(api.post("/api/auth/guest/"), "/api/auth/guest/", "post")
    check(api.post("/api/auth/guest/"), "/api/auth/guest/", "post")  # 429
    settings.CHAT = {**settings.CHAT, "GUEST_POW_BITS": 8, "GUEST_RATE": "60/minute"}
    check(api.get("/api/auth/challenge/"), "/api/auth/challenge/")
    check(api.post("/api/auth/guest/", REMOTE_ADDR="10.0.0.9"), "/api/auth/guest/", "post")  # 400
    check(
        me.post("/api/reports/", {"message": first.id, "reason": "spam"}, format="json"),
        "/api/reports/",
        "post",
    )
    check(me.post("/api/reports/", {"reason": "nope"}, format="json"), "/api/reports/", "post")
    check(me.post("/api/blocks/", {"user": owner.user.id}, format="json"), "/api/blocks/", "post")
    check(me.get("/api/blocks/"), "/api/blocks/")
    refresh = {"refresh": me.tokens["refresh"]}
    check(api.post("/api/auth/refresh/", refresh, format="json"), "/api/auth/refresh/", "post")
    check(api.post("/api/auth/refresh/", refresh, format="json"), "/api/auth/refresh/", "post")


def test_health_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] is True


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "chat_connections_open",
        "chat_joins_total",
        "chat_messages_sent_total",
        "chat_deliveries_total",
        "chat_send_seconds_bucket",
        "chat_process_info",
    ):
        assert name in text


def test_production_settings_pass_check_deploy_and_demand_a_secret():
    import os
    import subprocess
    import sys

    from tests.servers import ROOT

    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE", "SECRET_KEY"}}
    env.update(
        DJANGO_ENV="production",
        DATABASE_URL="postgres://chat:secret@127.0.0.1:1/chat",
        REDIS_URL="redis://127.0.0.1:1/0",
        ALLOWED_HOSTS="chat.example.com",
    )
    missing = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert missing.returncode != 0
    assert "SECRET_KEY must be set when DJANGO_ENV=production" in missing.stderr
    env["SECRET_KEY"] = "k" * 20 + "-a-long-random-production-secret-for-the-check-" + "x" * 10
    no_vapid = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert no_vapid.returncode != 0
    assert "VAPID_PRIVATE_KEY must be set when DJANGO_ENV=production" in no_vapid.stderr
    from ops.stack import vapid_private_pem

    env["VAPID_PRIVATE_KEY"] = vapid_private_pem().decode()
    env["VAPID_SUBJECT"] = "mailto:ops@example.com"
    deploy = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
