"""A real SMTP relay on loopback (aiosmtpd, in its own thread) for the mailto: tests: it keeps
the mails it accepted, counts connections and QUITs, and answers RCPT or DATA as a test
scripts it (a reply per attempt: "451 ...", then the default 250)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.harness import free_port


@dataclass(frozen=True)
class Mail:
    """A mail the relay accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None, "no text part"
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None, "no html part"
        return str(part.get_content())

    def header(self, name: str) -> str:
        value = self.message[name]
        assert value is not None, f"no {name} header"
        return str(value)


class _Handler:
    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        session.host_name = hostname
        if server._tls_protocol is not None:  # EHLO again after STARTTLS
            self.relay.tls_sessions += 1
        return responses

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.relay.quits += 1
        return "221 Bye"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.relay.next_reply(f"rcpt:{address}")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.relay.next_reply("data")
        if reply is not None:
            return reply
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.relay.lock:
            self.relay.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
            number = len(self.relay.mails)
        return f"250 2.0.0 Ok: queued as Q{number}"


class _Controller(Controller):
    def __init__(self, relay: SmtpRelay, **kwargs: Any) -> None:
        super().__init__(_Handler(relay), **kwargs)
        self.relay = relay

    def factory(self) -> SMTP:
        self.relay.connections += 1
        return SMTP(self.handler, **self.SMTP_kwargs)


class SmtpRelay:
    """`auth`: (user, password) it requires; `starttls`: a server-side TLS context to offer
    STARTTLS with (none: the relay does not offer it); `implicit_tls`: TLS from the first
    byte (smtps)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        auth: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.port = port or free_port()
        self.mails: list[Mail] = []
        self.connections = 0
        self.tls_sessions = 0
        self.quits = 0
        self.running = False
        self.lock = threading.Lock()
        self._replies: dict[str, list[str]] = {}
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port}
        if auth is not None:
            kwargs |= {
                "auth_required": True,
                "auth_require_tls": False,
                "authenticator": _authenticator(auth),
            }
        if starttls is not None:
            kwargs["tls_context"] = starttls
        if implicit_tls is not None:
            kwargs["ssl_context"] = implicit_tls
        self._controller = _Controller(self, **kwargs)

    def url(self, scheme: str = "smtp", userinfo: str = "", query: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}" + (f"?{query}" if query else "")

    def start(self) -> None:
        self._controller.start()
        self.connections = 0  # not the controller's own check that it started
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._controller.stop()
            self.running = False

    def script(self, what: str, *replies: str) -> None:
        """The next replies to `rcpt:<address>` or `data`, one per attempt."""
        with self.lock:
            self._replies.setdefault(what, []).extend(replies)

    def next_reply(self, what: str) -> str | None:
        with self.lock:
            waiting = self._replies.get(what)
            return waiting.pop(0) if waiting else None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.mails) >= count:
                    return list(self.mails)
            if time.monotonic() > deadline:
                raise AssertionError(f"the relay got {len(self.mails)} mails, not {count}")
            await asyncio.sleep(0.02)


def _authenticator(auth: tuple[str, str]) -> Any:
    user, password = auth

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=good, handled=False)

    return check
