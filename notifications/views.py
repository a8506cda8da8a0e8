"""The pages e-mail links open: verification (a plain GET verifies) and unsubscribe (GET
asks, POST — the RFC 8058 one-click a mail client sends — does it). No sign-in: the signed
link is the authority. Anything forged, expired or stale gets a page saying so."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications import services


def _page(
    request: HttpRequest, *, title: str, text: str, outcome: str, status: int = 200, **extra: object
) -> HttpResponse:
    context = {"title": title, "text": text, "outcome": outcome, **extra}
    response = render(request, "notifications/link.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@require_http_methods(["GET", "HEAD"])
def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        email = services.email_verify(token=token)
    except services.LinkInvalid as exc:
        return _page(
            request, title=gettext("Link not valid"), text=str(exc), outcome="invalid", status=400
        )
    return _page(
        request,
        title=gettext("E-mail confirmed"),
        text=gettext("%(email)s is confirmed.") % {"email": email},
        outcome="verified",
    )


@csrf_exempt  # RFC 8058: the mail client's POST carries no CSRF token; the link is signed
@require_http_methods(["GET", "HEAD", "POST"])
def email_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            email = services.email_unsubscribe(token=token)
            return _page(
                request,
                title=gettext("Unsubscribed"),
                text=gettext("No more digests will be sent to %(email)s.") % {"email": email},
                outcome="unsubscribed",
            )
        email = services.email_unsubscribe_check(token=token)
    except services.LinkInvalid as exc:
        return _page(
            request, title=gettext("Link not valid"), text=str(exc), outcome="invalid", status=400
        )
    # A GET only asks: link scanners open every link in a mail.
    return _page(
        request,
        title=gettext("Unsubscribe"),
        text=gettext("Stop e-mail digests of unread messages?"),
        outcome="confirm",
        confirm=True,
        email=email,
    )
