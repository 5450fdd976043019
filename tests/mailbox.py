"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests that start
a server with EMAIL_URL=smtp://127.0.0.1:<port> and read the mail it sends."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.conftest import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    subject: str
    body: str

    def links(self) -> list[str]:
        return re.findall(r"https?://\S+", self.body)


@dataclass
class Mailbox:
    mails: list[Mail] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None
    port: int = 0

    @property
    def email_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        with self._lock:
            self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), str(message["Subject"]), body))
        return "250 OK"

    def start(self) -> Mailbox:
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.mails if address in m.recipients]

    def wait_for(self, address: str, *, containing: str = "", count: int = 1, timeout: float = 15) -> Mail:
        """The `count`-th mail to `address` (1 = the first) whose body holds
        `containing`, once it has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = [m for m in self.to(address) if containing in m.body]
            if len(mails) >= count:
                return mails[count - 1]
            time.sleep(0.1)
        raise AssertionError(f"no mail #{count} to {address} within {timeout}s; got {[m.subject for m in self.mails]}")
