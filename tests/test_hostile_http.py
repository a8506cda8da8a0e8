"""What a hostile HTTP client finds (issue 17): login guessing, tampered input, creation
floods, existence oracles, missing headers. In-process: the behaviour lives in Django."""

import base64
import urllib.parse

import pytest
from django.test import Client

from accounts.models import User
from rooms.models import ChatRoom
from tests.factories import ListingFactory, PublicRoomFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long pass phrase 42"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def member():
    user = UserFactory(username="victim", is_guest=False)
    user.set_password(PASSWORD)
    user.save()
    return user


# --- 1. login guessing ---------------------------------------------------------------------


def test_login_is_refused_with_retry_after_after_five_failures_even_with_the_right_password(
    api, member
):
    for n in range(5):
        wrong = api.post("/api/auth/login/", {"username": "victim", "password": f"no{n}"})
        assert wrong.status_code == 401, wrong.json()
    right = api.post("/api/auth/login/", {"username": "victim", "password": PASSWORD})
    assert right.status_code == 429
    body = right.json()
    assert body["code"] == "rate_limited"
    assert 800 <= body["retry_after"] <= 900
    assert right["Retry-After"] == str(body["retry_after"])


def test_guessing_one_name_from_many_addresses_is_throttled_by_the_name(api, member):
    for n in range(5):
        api.post(
            "/api/auth/login/",
            {"username": "VICTIM", "password": "nope"},
            REMOTE_ADDR=f"10.0.0.{n}",
        )
    right = api.post(
        "/api/auth/login/", {"username": "victim", "password": PASSWORD}, REMOTE_ADDR="10.9.9.9"
    )
    assert right.status_code == 429


def test_guessing_many_names_from_one_address_is_throttled_by_the_address(api, member):
    for n in range(5):
        api.post("/api/auth/login/", {"username": f"someone{n}", "password": "nope"})
    right = api.post("/api/auth/login/", {"username": "victim", "password": PASSWORD})
    assert right.status_code == 429


def test_behind_proxies_guesses_count_per_forwarded_address(api, member, settings):
    """With ``NUM_PROXIES`` (a server that does not resolve the client itself), the login
    limit keys on the client as the throttles see it, not on the proxy's address."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(5):
        api.post(
            "/api/auth/login/",
            {"username": f"someone{n}", "password": "nope"},
            HTTP_X_FORWARDED_FOR="203.0.113.7",
            **proxy,
        )
    guesser = api.post(
        "/api/auth/login/",
        {"username": "victim", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        **proxy,
    )
    assert guesser.status_code == 429
    other = api.post(
        "/api/auth/login/",
        {"username": "victim", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.2",
        **proxy,
    )
    assert other.status_code == 200  # another client behind the same proxy is not locked out


def test_successful_logins_are_not_counted(api, member):
    for _ in range(8):
        ok = api.post("/api/auth/login/", {"username": "victim", "password": PASSWORD})
        assert ok.status_code == 200


def test_admin_login_is_throttled_the_same_way(member):
    member.is_staff = True
    member.is_superuser = True
    member.save()
    browser = Client()
    for n in range(5):
        browser.post("/admin/login/", {"username": "victim", "password": f"no{n}"})
    browser.post("/admin/login/?next=/admin/", {"username": "victim", "password": PASSWORD})
    assert browser.get("/admin/").status_code == 302  # still sent to the login page
    fresh = Client(REMOTE_ADDR="10.1.1.1")
    fresh.post("/admin/login/", {"username": "victim", "password": PASSWORD})
    assert fresh.get("/admin/").status_code == 302  # the name is locked, from anywhere


def test_refused_claims_count_as_failed_logins(guest_client):
    UserFactory(username="taken", is_guest=False)
    client = guest_client()
    for _ in range(5):
        taken = client.post(
            "/api/auth/claim/", {"username": "taken", "password": PASSWORD}, format="json"
        )
        assert taken.status_code == 409
    again = client.post(
        "/api/auth/claim/", {"username": "free-name", "password": PASSWORD}, format="json"
    )
    assert again.status_code == 429
    assert again.json()["code"] == "rate_limited"


# --- 7. rooms and listings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["\u202egeneral", "gen\u200beral", "bell\x07", "nul\x00", "\ufeffbom", "rlo\u2067"]
)
def test_room_names_with_invisible_or_bidi_characters_are_refused(guest_client, name):
    rooms = ChatRoom.objects.count()
    response = guest_client().post("/api/rooms/", {"name": name}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "bad_request"
    assert ChatRoom.objects.count() == rooms


@pytest.mark.parametrize(
    "name", ["GENERAL", "General", "\uff47\uff45\uff4e\uff45\uff52\uff41\uff4c", "\uff27ENERAL"]
)
def test_room_names_are_unique_after_nfkc_and_case_folding(guest_client, name):
    response = guest_client().post("/api/rooms/", {"name": name}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "name_taken"


def test_sharp_s_folds_like_ss(guest_client):
    client = guest_client()
    assert client.post("/api/rooms/", {"name": "strasse"}, format="json").status_code == 201
    assert client.post("/api/rooms/", {"name": "STRAßE"}, format="json").status_code == 409


def test_room_creation_is_throttled_per_user(guest_client, settings):
    settings.CHAT = {**settings.CHAT, "ROOM_CREATE_RATE": "3/hour"}
    client = guest_client()
    for n in range(3):
        assert client.post("/api/rooms/", {"name": f"r{n}"}, format="json").status_code == 201
    refused = client.post("/api/rooms/", {"name": "r9"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["retry_after"] >= 1
    assert client.get("/api/rooms/").status_code == 200  # reading is not creating
    assert guest_client().post("/api/rooms/", {"name": "r9"}, format="json").status_code == 201


def test_listing_creation_is_throttled_per_user(guest_client, settings):
    settings.CHAT = {**settings.CHAT, "LISTING_CREATE_RATE": "2/hour"}
    client = guest_client()
    for n in range(2):
        made = client.post("/api/listings/", {"title": f"tent {n}"}, format="json")
        assert made.status_code == 201
    refused = client.post("/api/listings/", {"title": "tent 9"}, format="json")
    assert refused.status_code == 429


def test_listing_text_with_control_characters_is_refused(guest_client):
    response = guest_client().post(
        "/api/listings/", {"title": "tent", "description": "bell\x07"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


# --- 9. inputs that gave 500s --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/rooms/", "/api/listings/"])
@pytest.mark.parametrize("raw", ["p=x", "p=2024-13-45", "o=5&p=99999-01-01", "o=x&p=2024-01-01"])
def test_a_tampered_page_cursor_is_400(guest_client, path, raw):
    PublicRoomFactory()
    ListingFactory()
    cursor = base64.b64encode(raw.encode()).decode()
    response = guest_client().get(f"{path}?cursor={urllib.parse.quote(cursor)}")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/rooms/"])
def test_json_nested_5000_deep_is_400(guest_client, path):
    body = "[" * 5000 + "]" * 5000
    response = guest_client().post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize("username", ["has space", "zero\u200bwidth", "tab\tname"])
def test_claim_with_a_username_the_validator_refuses_is_400(guest_client, username):
    client = guest_client()
    response = client.post(
        "/api/auth/claim/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert User.objects.get(pk=client.user.pk).is_guest is True


def test_a_json_body_over_the_memory_limit_is_413_json(guest_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = guest_client().post(
        "/api/rooms/", data='{"name": "' + "x" * 2000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


# --- 11. hardening -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/docs/", "/admin/login/", "/api/rooms/"])
def test_every_response_has_a_csp_without_inline_script(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_images_from_an_s3_storage_are_allowed_by_the_policy(client, settings):
    """With MEDIA_STORAGE=s3 the presigned image URLs are on the storage's origin."""
    assert "s3.example.test" not in client.get("/")["Content-Security-Policy"]
    settings.CSP_IMG_SOURCES = ["https://s3.example.test"]
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["img-src"] == "'self' data: blob: https://s3.example.test"


def test_api_answers_are_not_stored_by_caches(guest_client, api):
    assert guest_client().get("/api/me/")["Cache-Control"] == "no-store"
    assert api.post("/api/auth/guest/")["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "password", ["        ", " \t  \t   ", "{nickname}{tag}", "{nickname}#{tag}"]
)
def test_a_password_of_spaces_or_of_ones_own_name_is_refused(guest_client, password):
    client = guest_client()
    password = password.format(nickname=client.user.nickname, tag=client.user.tag)
    response = client.post(
        "/api/auth/claim/", {"username": "fresh", "password": password}, format="json"
    )
    assert response.status_code == 400, password
    assert User.objects.get(pk=client.user.pk).is_guest is True
