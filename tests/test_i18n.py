"""Korean and English (issue 15): which language a page, an API answer and the JavaScript
catalog speak — Accept-Language, the switcher's cookie, a signed-in user's settings."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from notifications.services import settings_update

pytestmark = pytest.mark.django_db

NO_ROOM_KO = "해당 방이 없습니다."


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]*)"', response.content.decode())
    assert match, "no <html lang>"
    return match.group(1)


def test_accept_language_picks_korean_and_english_is_the_default():
    assert html_lang(Client().get("/")) == "en"
    korean = Client(headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.5"}).get("/")
    assert html_lang(korean) == "ko"
    assert korean["Content-Language"] == "ko"
    assert "Accept-Language" in korean["Vary"]
    assert html_lang(Client(headers={"accept-language": "fr, de"}).get("/")) == "en"


def test_the_page_loads_the_catalog_for_its_language_before_its_module():
    html = Client(headers={"accept-language": "ko"}).get("/rooms/1/").content.decode()
    # A deferred classic script: it runs, in document order, before every module script.
    catalog = html.index('<script defer src="/jsi18n/?l=ko"></script>')
    assert catalog < html.index('<script type="module"')
    body = Client(headers={"accept-language": "ko"}).get("/jsi18n/?l=ko")
    assert body.status_code == 200 and body["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in body["Cache-Control"] and body.has_header("Last-Modified")
    text = body.content.decode("utf-8")
    assert json.dumps("이 채팅에서 차단되었습니다.") in text  # a Korean msgstr (JSON-escaped)
    assert "Available %s" not in text  # the admin's own catalog is left out
    english = Client(headers={"accept-language": "ko"}).get("/jsi18n/?l=en").content.decode()
    assert json.dumps("이 채팅에서 차단되었습니다.") not in english  # the URL names the language


def test_the_switcher_posts_to_set_language_and_its_cookie_beats_accept_language():
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "ko"})
    page = client.get("/listings/")
    assert html_lang(page) == "ko"
    html = page.content.decode()
    form = re.search(r'<form class="language"[^>]*>.*?</form>', html, re.S)
    assert form and 'action="/i18n/setlang/"' in form.group(0) and 'method="post"' in form.group(0)
    assert 'aria-label="언어"' in form.group(0)  # the form's name, in the page's language
    assert 'value="en" lang="en"' in form.group(0) and 'value="ko" lang="ko"' in form.group(0)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0))
    assert token
    switched = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": "/listings/", "csrfmiddlewaretoken": token.group(1)},
    )
    assert switched.status_code == 302 and switched["Location"] == "/listings/"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert html_lang(client.get("/listings/")) == "en"  # Accept-Language still says ko


def test_an_api_error_detail_is_in_korean(guest_client):
    client = guest_client()
    english = client.get("/api/rooms/999999/")
    assert english.status_code == 404 and english.json()["detail"] == "No such room."
    korean = client.get("/api/rooms/999999/", HTTP_ACCEPT_LANGUAGE="ko")
    assert korean.status_code == 404
    assert korean.json() == {"code": "not_found", "detail": NO_ROOM_KO}
    # A default detail (lazy) and DRF's own validation messages too.
    refused = client.patch("/api/me/settings/", [1], format="json", HTTP_ACCEPT_LANGUAGE="ko")
    assert refused.json()["detail"] == "본문은 JSON 객체여야 합니다."
    unauthenticated = APIClient().get("/api/me/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert unauthenticated["detail"] != "Authentication credentials were not provided."


def test_a_signed_in_users_settings_language_wins_and_becomes_the_cookie(guest_client):
    """The cookie and Accept-Language say English; the user chose Korean in the settings."""
    client = guest_client()
    settings_update(user=client.user, language="ko")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    answer = client.get("/api/rooms/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.json()["detail"] == NO_ROOM_KO
    assert answer["Content-Language"] == "ko"
    # The next page (no token) is rendered in it: the answer set the cookie.
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ko"
    page = Client(headers={"accept-language": "en"})
    page.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    assert html_lang(page.get("/")) == "ko"
    # Changed in the settings (what the switcher does for a signed-in user): applied at once.
    client.patch("/api/me/settings/", {"language": "en"}, format="json")
    assert client.get("/api/rooms/999999/").json()["detail"] == "No such room."
    # No choice any more: the cookie and Accept-Language decide again.
    client.patch("/api/me/settings/", {"language": None}, format="json")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    assert client.get("/api/rooms/999999/").json()["detail"] == NO_ROOM_KO


def test_the_email_link_pages_speak_the_visitors_language():
    page = Client(headers={"accept-language": "ko"}).get("/email/verify/garbage/")
    assert page.status_code == 400
    text = page.content.decode()
    assert html_lang(page) == "ko" and "올바르지 않은 링크" in text
