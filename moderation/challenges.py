"""Proof-of-work for minting a guest (PROTOCOL.md, ``GET /api/auth/challenge/``).

A challenge is ``<bits>.<random>`` signed with a timestamp by the server (``django.core.
signing``): no table, nobody can make one, and it says how hard it is. A solution is a
``nonce`` such that SHA-256 of ``challenge + ":" + nonce`` starts with ``bits`` zero bits.
Each challenge is accepted once: a used one is remembered until it would expire anyway, in
Django's cache (Redis when configured, so every process agrees; in-process otherwise).

The price rises with an address's recent mints: ``CHAT_GUEST_POW_BITS`` plus one bit per
doubling past 10 mints in the last hour, up to ``CHAT_GUEST_POW_MAX_BITS``. A challenge
issued at fewer bits than the address needs now is refused (with a fresh one), so fetching a
pile of cheap challenges before minting buys nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chatsite.foundation.codes import Code
from chatsite.foundation.errors import ChatError
from moderation.models import GuestOrigin

VALID_SECONDS = 120
NONCE_MAX = 64
_SALT = "moderation.guest-pow"
_signer = signing.TimestampSigner(salt=_SALT)


class Challenge(NamedTuple):
    challenge: str
    bits: int


class PowRequired(ChatError):
    """400 ``pow_required``, with a fresh challenge in the body."""

    code = Code.POW_REQUIRED
    default_detail = gettext_lazy("Solve the proof-of-work challenge to get a guest identity.")

    def __init__(self, detail: str | None = None, *, fresh: Challenge) -> None:
        super().__init__(detail)
        self.fresh = fresh

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "challenge": self.fresh.challenge, "bits": self.fresh.bits}


def mints_last_hour(*, address: str) -> int:
    since = timezone.now() - timedelta(hours=1)
    return GuestOrigin.objects.filter(address=address, created_at__gte=since).count()


def bits_for(*, address: str) -> int:
    """How many leading zero bits a guest from ``address`` must find now (0: no puzzle)."""
    base = settings.CHAT["GUEST_POW_BITS"]
    if base <= 0:
        return 0
    mints, extra, threshold = mints_last_hour(address=address), 0, 10
    while mints > threshold:  # 11-20: +1, 21-40: +2, ...
        extra += 1
        threshold *= 2
    return min(base + extra, max(settings.CHAT["GUEST_POW_MAX_BITS"], base))


def challenge_issue(*, address: str) -> Challenge:
    bits = bits_for(address=address)
    return Challenge(_signer.sign(f"{bits}.{secrets.token_urlsafe(12)}"), bits)


def leading_zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def solves(challenge: str, nonce: str, bits: int) -> bool:
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    return leading_zero_bits(digest) >= bits


def challenge_redeem(*, address: str, challenge: object, nonce: object) -> None:
    """Accept a solved challenge once; ``PowRequired`` (with a fresh one) otherwise."""
    needed = bits_for(address=address)
    if needed == 0:
        return

    def refuse(detail: str) -> PowRequired:
        return PowRequired(detail, fresh=challenge_issue(address=address))

    if not isinstance(challenge, str) or not isinstance(nonce, str):
        raise refuse("Send the challenge and its solution (nonce).")
    if not 1 <= len(nonce) <= NONCE_MAX or len(challenge) > 200:
        raise refuse("That is not a solution of the challenge.")
    try:
        value = _signer.unsign(challenge, max_age=VALID_SECONDS)
    except signing.SignatureExpired:
        raise refuse("That challenge expired; solve this one.") from None
    except signing.BadSignature:
        raise refuse("That is not a challenge of this server.") from None
    bits_text, _, _ = value.partition(".")
    bits = int(bits_text) if bits_text.isdigit() else -1
    if bits < needed:
        raise refuse("This address needs a harder challenge now; solve this one.")
    if not solves(challenge, nonce, bits):
        raise refuse("That is not a solution of the challenge.")
    # Single use: the first to redeem it wins (an atomic add, in Redis when configured).
    if not cache.add(f"pow-used:{challenge}", 1, timeout=VALID_SECONDS + 5):
        raise refuse("That challenge was used already.")
