"""The guest puzzle (``GET /api/auth/challenge/``, ``POST /api/auth/guest/``) and bans that
hold: a banned guest's address mints no new guests, a banned user's refresh says so."""

import hashlib
import itertools
import time

import pytest
from django.core import signing

from accounts.models import User
from moderation import challenges
from moderation.challenges import leading_zero_bits
from moderation.models import GuestOrigin
from moderation.services import user_ban_holding

pytestmark = pytest.mark.django_db

BITS = 8  # cheap enough to solve in a test, hard enough that a random nonce fails


@pytest.fixture(autouse=True)
def puzzle_on(settings):
    settings.CHAT = {**settings.CHAT, "GUEST_POW_BITS": BITS, "GUEST_POW_MAX_BITS": 12}


def solve(challenge: str, bits: int) -> str:
    for n in itertools.count():
        digest = hashlib.sha256(f"{challenge}:{n}".encode()).digest()
        if leading_zero_bits(digest) >= bits:
            return str(n)
    raise AssertionError


def unsolved(challenge: str, bits: int) -> str:
    for n in itertools.count():
        digest = hashlib.sha256(f"{challenge}:{n}".encode()).digest()
        if leading_zero_bits(digest) < bits:
            return str(n)
    raise AssertionError


def mint(api, **extra):
    puzzle = api.get("/api/auth/challenge/", **extra).json()
    nonce = solve(puzzle["challenge"], puzzle["bits"])
    return api.post(
        "/api/auth/guest/",
        {"challenge": puzzle["challenge"], "nonce": nonce},
        format="json",
        **extra,
    )


def test_leading_zero_bits_counts_bits_not_bytes():
    assert leading_zero_bits(bytes([0, 0, 0x10, 0xFF])) == 19
    assert leading_zero_bits(bytes([0x80])) == 0
    assert leading_zero_bits(bytes(4)) == 32


def test_a_solved_challenge_mints_a_guest_and_records_its_address(api):
    puzzle = api.get("/api/auth/challenge/").json()
    assert puzzle["bits"] == BITS
    response = mint(api, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 201
    user_id = response.json()["user"]["id"]
    assert GuestOrigin.objects.get(user_id=user_id).address == "10.1.1.1"


@pytest.mark.parametrize(
    "body", [{}, {"challenge": "x"}, {"nonce": "1"}, {"challenge": "a:b:c", "nonce": "1"}]
)
def test_missing_or_forged_challenges_answer_pow_required_with_a_fresh_one(api, body):
    response = api.post("/api/auth/guest/", body, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "pow_required" and data["bits"] == BITS
    assert signing.TimestampSigner(salt=challenges._SALT).unsign(data["challenge"])
    assert not User.objects.exists()


def test_a_wrong_solution_is_refused(api):
    puzzle = api.get("/api/auth/challenge/").json()
    nonce = unsolved(puzzle["challenge"], BITS)
    response = api.post(
        "/api/auth/guest/", {"challenge": puzzle["challenge"], "nonce": nonce}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "pow_required"
    assert not User.objects.exists()


def test_a_challenge_is_single_use(api):
    puzzle = api.get("/api/auth/challenge/").json()
    body = {"challenge": puzzle["challenge"], "nonce": solve(puzzle["challenge"], BITS)}
    assert api.post("/api/auth/guest/", body, format="json").status_code == 201
    again = api.post("/api/auth/guest/", body, format="json")
    assert again.status_code == 400 and again.json()["code"] == "pow_required"
    assert User.objects.count() == 1


def test_a_challenge_expires_after_two_minutes(api, monkeypatch):
    real = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 121)
    puzzle = api.get("/api/auth/challenge/").json()
    monkeypatch.setattr(signing.time, "time", real)
    body = {"challenge": puzzle["challenge"], "nonce": solve(puzzle["challenge"], BITS)}
    response = api.post("/api/auth/guest/", body, format="json")
    assert response.status_code == 400 and "expired" in response.json()["detail"]


def test_the_price_rises_with_an_address_mints_in_the_last_hour_up_to_the_cap(api):
    def bits_after(mints: int) -> int:
        GuestOrigin.objects.all().delete()
        start = User.objects.count()
        users = User.objects.bulk_create(
            User(username=f"m{start + n}", nickname="Many", tag=f"{start + n:04d}")
            for n in range(mints)
        )
        GuestOrigin.objects.bulk_create(GuestOrigin(user=u, address="10.2.2.2") for u in users)
        return api.get("/api/auth/challenge/", REMOTE_ADDR="10.2.2.2").json()["bits"]

    assert [bits_after(n) for n in (10, 11, 20, 21, 40, 41)] == [8, 9, 9, 10, 10, 11]
    assert bits_after(500) == 12  # CHAT_GUEST_POW_MAX_BITS
    assert api.get("/api/auth/challenge/", REMOTE_ADDR="10.3.3.3").json()["bits"] == BITS


def test_a_challenge_cheaper_than_the_address_needs_now_is_refused(api):
    puzzle = api.get("/api/auth/challenge/", REMOTE_ADDR="10.4.4.4").json()
    for n in range(11):
        GuestOrigin.objects.create(
            user=User.objects.create(username=f"c{n}", nickname="C", tag=f"{n:04d}"),
            address="10.4.4.4",
        )
    body = {"challenge": puzzle["challenge"], "nonce": solve(puzzle["challenge"], BITS)}
    response = api.post("/api/auth/guest/", body, format="json", REMOTE_ADDR="10.4.4.4")
    assert response.status_code == 400 and response.json()["bits"] == BITS + 1


def test_zero_bits_turns_the_puzzle_off(api, settings):
    settings.CHAT = {**settings.CHAT, "GUEST_POW_BITS": 0}
    assert api.get("/api/auth/challenge/").json()["bits"] == 0
    assert api.post("/api/auth/guest/").status_code == 201


def test_a_banned_guest_bars_its_address_from_minting_and_its_refresh_says_banned(api):
    minted = mint(api, REMOTE_ADDR="10.5.5.5").json()
    user = User.objects.get(pk=minted["user"]["id"])
    user_ban_holding(user=user, by=None)
    refused = mint(api, REMOTE_ADDR="10.5.5.5")
    assert refused.status_code == 403 and refused.json()["code"] == "banned"
    assert mint(api, REMOTE_ADDR="10.6.6.6").status_code == 201
    refresh = api.post("/api/auth/refresh/", {"refresh": minted["refresh"]}, format="json")
    assert refresh.status_code == 403 and refresh.json()["code"] == "banned"


def test_a_stale_refresh_of_an_active_user_stays_401(api):
    tokens = mint(api).json()
    assert (
        api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 200
    )
    reused = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401
