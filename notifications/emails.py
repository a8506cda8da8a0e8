"""The two e-mails: the address verification link and the digest (plain text + HTML,
Django templates, RFC 8058 one-click unsubscribe)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_verification(*, email: str, url: str) -> None:
    context = {"url": url, "site": settings.CHAT["SITE_URL"]}
    message = EmailMultiAlternatives(
        subject="Confirm your e-mail address for Realtime Chat",
        body=render_to_string("notifications/email/verify.txt", context),
        to=[email],
    )
    message.attach_alternative(
        render_to_string("notifications/email/verify.html", context), "text/html"
    )
    message.send()


def send_digest(
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
    noun = "message" if total == 1 else "messages"
    message = EmailMultiAlternatives(
        subject=f"{total} unread {noun} on Realtime Chat",
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
