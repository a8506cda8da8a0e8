import pytest
from rest_framework import serializers
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.serializers import MeSerializer, UserSerializer, user_data
from accounts.services import guest_create, user_ban
from chatsite.foundation.wire import encode
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_guest_mint_returns_tokens_and_a_nickname_tag_identity(api):
    response = api.post("/api/auth/guest/")
    assert response.status_code == 201
    body = response.json()
    user = body["user"]
    assert user["is_guest"] is True
    assert len(user["tag"]) == 4 and user["tag"].isdigit()
    assert user["display_name"] == f"{user['nickname']}#{user['tag']}"
    claims = AccessToken(body["access"])
    assert (claims["user_id"], claims["nickname"], claims["tag"]) == (
        str(user["id"]) if isinstance(claims["user_id"], str) else user["id"],
        user["nickname"],
        user["tag"],
    )


def test_guest_identity_is_kept_by_its_token(api):
    body = api.post("/api/auth/guest/").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api.get("/api/me/").json() == {**body["user"], "is_staff": False}


def test_guest_mint_retries_a_taken_nickname_tag(monkeypatch):
    first = guest_create()
    picks = iter([first.tag, first.tag, "1234"])
    monkeypatch.setattr("accounts.services.random_tag", lambda: next(picks))
    monkeypatch.setattr(
        "accounts.services._rng.choice", lambda seq: first.nickname if seq[0] != "Amber" else ""
    )
    second = guest_create()
    assert second.display_name == f"{first.nickname}#1234"


def test_guest_mint_is_throttled_per_address(api, settings):
    settings.CHAT = {**settings.CHAT, "GUEST_RATE": "2/minute"}
    assert api.post("/api/auth/guest/").status_code == 201
    assert api.post("/api/auth/guest/").status_code == 201
    response = api.post("/api/auth/guest/")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response.json()["retry_after"] > 0
    other = api.post("/api/auth/guest/", REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 201


def test_refresh_rotates_and_a_used_refresh_token_is_refused(api):
    tokens = api.post("/api/auth/guest/").json()
    first = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    again = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"
    assert (
        api.post(
            "/api/auth/refresh/", {"refresh": first.json()["refresh"]}, format="json"
        ).status_code
        == 200
    )


def test_refreshed_access_token_keeps_the_identity_claims(api):
    tokens = api.post("/api/auth/guest/").json()
    access = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json").json()[
        "access"
    ]
    assert AccessToken(access)["nickname"] == tokens["user"]["nickname"]


def test_refresh_with_garbage_is_401_with_a_code(api):
    response = api.post("/api/auth/refresh/", {"refresh": "nope"}, format="json")
    assert response.status_code == 401
    assert set(response.json()) >= {"code", "detail"}


def test_refresh_token_is_not_an_access_token(api):
    tokens = api.post("/api/auth/guest/").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")
    assert api.get("/api/me/").status_code == 401


def test_anonymous_request_is_401_with_code(api):
    response = api.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_claim_keeps_the_same_user_and_allows_login_elsewhere(api, guest_client):
    client = guest_client()
    response = client.post(
        "/api/auth/claim/",
        {"username": "otterfan", "password": "a long pass phrase 42"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["id"] == client.user.id
    assert response.json()["is_guest"] is False
    assert response.json()["display_name"] == client.user.display_name
    login = api.post(
        "/api/auth/login/",
        {"username": "otterfan", "password": "a long pass phrase 42"},
        format="json",
    )
    assert login.status_code == 200
    assert login.json()["user"]["id"] == client.user.id
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert api.get("/api/me/").json()["id"] == client.user.id


def test_claim_twice_is_refused(guest_client):
    client = guest_client()
    client.post(
        "/api/auth/claim/", {"username": "once", "password": "a long pass phrase 42"}, format="json"
    )
    again = client.post(
        "/api/auth/claim/",
        {"username": "twice", "password": "a long pass phrase 42"},
        format="json",
    )
    assert again.status_code == 400
    assert again.json()["code"] == "bad_request"
    assert User.objects.get(pk=client.user.pk).username == "once"


def test_claim_with_a_taken_username_is_409_ignoring_case(guest_client):
    guest_client().post(
        "/api/auth/claim/",
        {"username": "Taken", "password": "a long pass phrase 42"},
        format="json",
    )
    client = guest_client()
    response = client.post(
        "/api/auth/claim/",
        {"username": "taken", "password": "a long pass phrase 42"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"
    assert User.objects.get(pk=client.user.pk).is_guest is True


def test_claim_with_a_weak_password_changes_nothing(guest_client):
    client = guest_client()
    response = client.post(
        "/api/auth/claim/", {"username": "weakling", "password": "123"}, format="json"
    )
    assert response.status_code == 400
    user = User.objects.get(pk=client.user.pk)
    assert user.is_guest is True and user.username != "weakling"


def test_claim_with_missing_fields_names_them(guest_client):
    response = guest_client().post("/api/auth/claim/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "username" in response.json()["fields"]


def test_login_with_wrong_password_is_401(api, guest_client):
    guest_client().post(
        "/api/auth/claim/", {"username": "solo", "password": "a long pass phrase 42"}, format="json"
    )
    response = api.post(
        "/api/auth/login/", {"username": "solo", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_banned_user_tokens_stop_working_everywhere(api, guest_client):
    client = guest_client()
    assert client.get("/api/me/").status_code == 200
    user_ban(user=client.user)
    assert client.get("/api/me/").status_code == 401
    refresh = api.post("/api/auth/refresh/", {"refresh": client.tokens["refresh"]}, format="json")
    # Refused as banned (not 401): the client shows it instead of minting a new identity.
    assert refresh.status_code == 403 and refresh.json()["code"] == "banned"


def test_user_fast_paths_equal_drf_field_by_field():
    """``user_data`` and ``MeSerializer`` build what their declared fields say, key order too."""
    for user in [guest_create(), UserFactory(is_guest=False, is_staff=True)]:
        for serializer in (UserSerializer(), MeSerializer()):
            generic = serializers.Serializer.to_representation(serializer, user)
            assert encode(serializer.to_representation(user)) == encode(generic)
        assert user_data(user) == UserSerializer().to_representation(user)


def test_login_and_guest_answer_the_same_session_shape(api, guest_client):
    client = guest_client()
    client.post("/api/auth/claim/", {"username": "shape", "password": "a long pass phrase 42"})
    login = api.post(
        "/api/auth/login/", {"username": "shape", "password": "a long pass phrase 42"}
    ).json()
    guest = api.post("/api/auth/guest/").json()
    assert list(login) == list(guest) == ["access", "refresh", "user"]
    assert login["user"] == user_data(User.objects.get(pk=client.user.pk))
