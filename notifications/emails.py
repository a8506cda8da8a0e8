"""The two e-mails: the address verification link and the digest (plain text + HTML,
Django templates, RFC 8058 one-click unsubscribe), in the recipient's settings ``language``
(English when they chose none)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, ngettext


def send_verification(*, email: str, url: str, language: str = "") -> None:
    with translation.override(language or settings.LANGUAGE_CODE):
        _send_verification(email=email, url=url)


def _send_verification(*, email: str, url: str) -> None:
    context = {"url": url, "site": settings.CHAT["SITE_URL"]}
    message = EmailMultiAlternatives(
        subject=gettext("Confirm your e-mail address for Realtime Chat"),
        body=render_to_string("notifications/email/verify.txt", context),
        to=[email],
    )
    message.attach_alternative(
        render_to_string("notifications/email/verify.html", context), "text/html"
    )
    message.send()


def send_digest(
    *,
    email: str,
    rooms: list[dict[str, Any]],
    unsubscribe_url: str,
    settings_url: str,
    language: str = "",
) -> None:
    with translation.override(language or settings.LANGUAGE_CODE):
        _send_digest(
            email=email, rooms=rooms, unsubscribe_url=unsubscribe_url, settings_url=settings_url
        )


def _send_digest(
    *, email: str, rooms: list[dict[str, Any]], unsubscribe_url: str, settings_url: str
) -> None:
    total = sum(room["count"] for room in rooms)
    context = {
        "rooms": rooms,
        "total": total,
        "unsubscribe_url": unsubscribe_url,
        "settings_url": settings_url,
        "site": settings.CHAT["SITE_URL"],
    }
    subject = ngettext(
        "%(count)s unread message on Realtime Chat",
        "%(count)s unread messages on Realtime Chat",
        total,
    ) % {"count": total}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("notifications/email/digest.txt", context),
        to=[email],
        headers={
            # RFC 8058: a mail client POSTs "List-Unsubscribe=One-Click" to this URL.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string("notifications/email/digest.html", context), "text/html"
    )
    message.send()
