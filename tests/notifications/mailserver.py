"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from ops.procs import free_port


class Inbox:
    """Keeps each message received. ``hold`` (a subject substring): the next such message is
    held before its answer until ``release`` — and is kept only if the sender is still
    connected then (a sender killed meanwhile never saw "250": it was not delivered)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.dropped: list[EmailMessage] = []
        self.changed = threading.Condition()
        self.hold: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if self.hold is not None and self.hold in str(message["Subject"]):
            self.hold = None
            self.held.set()
            try:
                while not self.release.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # aiosmtpd: the sender's connection was lost
                with self.changed:
                    self.dropped.append(message)  # type: ignore[arg-type]
                    self.changed.notify_all()
                raise
        with self.changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.changed.notify_all()
        return "250 OK"

    def wait(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.messages) >= count, timeout), (
                self.messages
            )
        return self.messages


def start_smtp() -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox


def smtp_port(controller: Controller) -> int:
    return int(controller.port)


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a digest."""
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text)
