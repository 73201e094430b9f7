"""`mailto:` destinations: one mail per attempt through the operator's SMTP relay
(HOOKLINE_SMTP_URL, from HOOKLINE_SMTP_FROM). See docs/destinations.md.

    smtp://[user:pass@]host[:port]            STARTTLS when the relay offers it (port 25)
    smtp://...?tls=required                   STARTTLS or no mail: a failed attempt says why
    smtps://[user:pass@]host[:port]           TLS from the first byte (port 465)

A mail is all or nothing: every recipient must be accepted before the message is sent, so a
retry never mails someone twice because another address was refused. The relay's acceptance
(250) is `Accepted`; a 4xx reply or a connection problem is a `Failure` retried on the webhook's
schedule; a 5xx for a recipient or for the message is a final `Failure` carrying the relay's
words. The relay's password never appears in an error or a log line.

Connections are reused: up to CONNECTIONS per relay (one mail at a time on each), opened on
first use, closed when idle, dropped after an error; a pooled connection the relay closed
meanwhile is replaced before it fails a mail.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from hookline.destinations.pool import Pool
from hookline.destinations.urls import mask
from hookline.transport import Accepted, Failure, OutboundRequest, Result, elapsed_ms

log = logging.getLogger(__name__)

CONNECTIONS = 4  # at once to the relay; more mails wait for one of them
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
# Headers the mail itself is made of: a webhook's custom headers cannot set them.
MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "bcc", "subject", "date", "message-id", "sender", "reply-to",
        "return-path", "received", "mime-version", "content-type", "content-transfer-encoding",
        "content-disposition", "content-id", "in-reply-to", "references", "resent-from",
        "resent-to", "resent-cc", "resent-bcc", "resent-date", "resent-sender",
        "resent-message-id", "dkim-signature", "list-unsubscribe",
    }
)  # fmt: skip


class RelayProblem(Exception):
    """The relay cannot take mail the way HOOKLINE_SMTP_URL asks (no STARTTLS with
    tls=required, no AUTH with a user); the message says so."""


@dataclass(frozen=True, slots=True)
class Relay:
    """HOOKLINE_SMTP_URL, read."""

    host: str
    port: int
    implicit_tls: bool = False  # smtps://
    tls_required: bool = False  # ?tls=required (smtps:// always is)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def parse_relay(url: str) -> Relay:
    """HOOKLINE_SMTP_URL as a Relay; ValueError saying what to fix (never with the password)."""
    shown = mask(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(
            "HOOKLINE_SMTP_URL must be smtp://[user:pass@]host:port (STARTTLS when offered; "
            f"add ?tls=required to insist) or smtps://... (implicit TLS); got {shown!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(
            f"HOOKLINE_SMTP_URL: the port must be a number from 1 to 65535; got {shown!r}"
        ) from None
    if port == 0:
        raise ValueError(f"HOOKLINE_SMTP_URL: port 0 is not a port a relay listens on: {shown!r}")
    if not parts.hostname:
        raise ValueError(f"HOOKLINE_SMTP_URL has no host: {shown!r}")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"HOOKLINE_SMTP_URL takes no path: {shown!r}")
    tls_required = scheme == "smtps"
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name != "tls" or value != "required":
            raise ValueError(
                f"HOOKLINE_SMTP_URL: unknown parameter {name}={value!r}; the only one is "
                "?tls=required (refuse a relay that does not offer STARTTLS)"
            )
        tls_required = True
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    if bool(username) != bool(password):
        raise ValueError(
            "HOOKLINE_SMTP_URL: give both a user and a password (smtp://user:pass@host:port), "
            f"or neither; got {shown!r}"
        )
    return Relay(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        implicit_tls=scheme == "smtps",
        tls_required=tls_required,
        username=username or None,
        password=password or None,
    )


def check_sender(sender: str) -> str:
    """HOOKLINE_SMTP_FROM: an address, optionally with a name (`Alerts <a@example.com>`)."""
    address = parseaddr(sender)[1]
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(ch.isspace() for ch in address):
        raise ValueError(
            "HOOKLINE_SMTP_FROM must be an email address such as alerts@example.com or "
            f"'Alerts <alerts@example.com>'; got {sender!r}"
        )
    return sender


def recipients_of(url: str) -> list[str]:
    """The addresses of a `mailto:` URL (checked when the webhook was saved)."""
    _, _, rest = url.partition(":")
    return [part.strip() for part in rest.split(",") if part.strip()]


def compose(
    request: OutboundRequest, sender: str, recipients: Sequence[str], *, at: float
) -> EmailMessage:
    """The mail of one attempt: From, To, Subject, the text part (`request.body`, which the
    signature covers) and the HTML alternative, with the request's headers as mail headers."""
    international = not all(r.isascii() for r in (*recipients, sender))
    message = EmailMessage(policy=SMTPUTF8 if international else SMTP)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = request.subject or "(no subject)"
    message["Date"] = formatdate(at, usegmt=True)
    message["Message-ID"] = make_msgid("hookline", domain=_domain(sender))
    for name, value in request.headers.items():
        if name.lower() not in MAIL_HEADERS:
            message[name] = value
    message.set_content(request.body.decode())
    if request.html is not None:
        message.add_alternative(request.html, subtype="html")
    return message


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    try:
        return Address(addr_spec=address).domain or "localhost"
    except (ValueError, IndexError):
        return address.rpartition("@")[2] or "localhost"


@dataclass(slots=True)
class _Session:
    smtp: aiosmtplib.SMTP
    used: bool = False  # a mail went through it: it may have gone stale since


class _HungUp(aiosmtplib.SMTPServerDisconnected):
    """The relay had closed the connection before this mail began."""


class _Refused(Exception):
    """A recipient the relay refused; the envelope was reset and the connection is usable."""

    def __init__(self, refused: aiosmtplib.SMTPRecipientRefused) -> None:
        super().__init__(refused.message)
        self.refused = refused


class Smtp:
    """Mail through one relay. `tls_context`: whose certificates the relay's is checked
    against (default: the system's)."""

    def __init__(
        self,
        smtp_url: str,
        sender: str,
        *,
        idle: float,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._relay = parse_relay(smtp_url)
        self._sender = check_sender(sender)
        self._envelope_sender = parseaddr(sender)[1]
        self._tls = tls_context
        self._pool: Pool[_Session] = Pool(self._open, _shut, idle=idle, clock=clock)
        self._free: asyncio.LifoQueue[str] = asyncio.LifoQueue()  # the warmest one first
        for slot in range(CONNECTIONS):
            self._free.put_nowait(f"connection-{slot}")
        self._local_hostname: str | None = None

    async def send(self, request: OutboundRequest) -> Result:
        started = time.perf_counter()
        recipients = recipients_of(request.url)
        try:
            mail = compose(request, self._sender, recipients, at=time.time())
            async with self._connection() as key:
                answer = await self._exchange(key, recipients, mail)
        except Exception as exc:
            failure = self._failure(exc, elapsed_ms(started))
            log.info("mail through the SMTP relay %s failed: %s", self._relay.where, failure.error)
            return failure
        return Accepted(f"{answer.code} {answer.message}", elapsed_ms(started))

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[str]:
        """One of the CONNECTIONS slots, for one mail."""
        key = await self._free.get()
        try:
            yield key
        finally:
            self._free.put_nowait(key)

    async def _exchange(
        self, key: str, recipients: Sequence[str], mail: EmailMessage
    ) -> aiosmtplib.SMTPResponse:
        """Send `mail` on the slot's connection (opened if need be); raises what went wrong."""
        while True:
            session = await self._pool.get(key)
            if session.used and not session.smtp.is_connected:  # the relay hung up meanwhile
                await self._pool.discard(key)
                continue
            try:
                answer = await _transaction(session.smtp, self._envelope_sender, recipients, mail)
            except _Refused:
                raise  # the envelope was reset: the connection stays
            except _HungUp:
                await self._drop(key, session)
                if session.used:
                    continue  # a stale pooled connection: once more on a new one
                raise
            except BaseException:  # an error or a timeout mid-mail: its state is unknown
                await self._drop(key, session)
                raise
            session.used = True
            return answer

    async def _drop(self, key: str, session: _Session) -> None:
        session.smtp.close()
        await self._pool.discard(key)

    async def _open(self, key: str) -> _Session:
        """A connection to the relay: TLS as HOOKLINE_SMTP_URL asks, logged in if it has a
        user."""
        relay = self._relay
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(_fqdn)
        smtp = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            use_tls=relay.implicit_tls,
            start_tls=False,  # decided below, once the relay said what it offers
            tls_context=self._tls,
            local_hostname=self._local_hostname,
        )
        await smtp.connect()
        try:
            await smtp.ehlo()
            if not relay.implicit_tls:
                if smtp.supports_extension("starttls"):
                    await smtp.starttls()
                elif relay.tls_required:
                    raise RelayProblem(
                        "the SMTP relay does not offer STARTTLS and HOOKLINE_SMTP_URL requires "
                        "TLS (tls=required); no mail was sent"
                    )
            if relay.username is not None and relay.password is not None:
                if not smtp.supports_extension("auth"):
                    raise RelayProblem(
                        "the SMTP relay offers no AUTH, and HOOKLINE_SMTP_URL has a user and "
                        "password (does the relay offer AUTH only after STARTTLS?)"
                    )
                await smtp.login(relay.username, relay.password)
        except BaseException:
            smtp.close()
            raise
        return _Session(smtp)

    def _failure(self, exc: Exception, latency_ms: int) -> Failure:
        error, final = describe(exc, self._envelope_sender)
        password = self._relay.password
        if password and password in error:  # never, but a relay may echo what it was sent
            error = error.replace(password, "****")
        return Failure(error=error, latency_ms=latency_ms, final=final)


async def _transaction(
    smtp: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], mail: EmailMessage
) -> aiosmtplib.SMTPResponse:
    """MAIL, RCPT for every recipient (any refused: RSET, nothing sent), DATA."""
    international = not all(r.isascii() for r in (*recipients, sender))
    options: list[str] = []
    if international:
        if not smtp.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported(
                "the SMTP relay does not support SMTPUTF8, which an address outside ASCII needs"
            )
        options.append("SMTPUTF8")
    encoding = "utf-8" if international else "ascii"
    try:
        await smtp.mail(sender, options=options, encoding=encoding)
    except aiosmtplib.SMTPServerDisconnected as exc:
        raise _HungUp(exc.message) from exc
    for recipient in recipients:
        try:
            await smtp.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPRecipientRefused as refused:
            await smtp.rset()
            raise _Refused(refused) from None
    return await smtp.data(mail.as_bytes())


def describe(exc: BaseException, sender: str) -> tuple[str, bool]:
    """What went wrong, in words, and whether it is final (no retry can help this mail)."""
    if isinstance(exc, _Refused):
        refused = exc.refused
        verb = "refused" if refused.code >= 500 else "deferred"
        return (
            f"the SMTP relay {verb} recipient {refused.recipient}: {refused.code} "
            f"{refused.message}",
            refused.code >= 500,
        )
    if isinstance(exc, RelayProblem):
        return str(exc), False
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return (
            f"authentication failed: the SMTP relay refused hookline's login ({exc.code}); "
            "check the user and password in HOOKLINE_SMTP_URL",
            False,
        )
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return (
            f"the SMTP relay refused the sender {sender}: {exc.code} {exc.message} (the "
            "operator sets it with HOOKLINE_SMTP_FROM)",
            False,
        )
    if isinstance(exc, aiosmtplib.SMTPDataError):
        verb = "refused" if exc.code >= 500 else "deferred"
        return f"the SMTP relay {verb} the message: {exc.code} {exc.message}", exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"the SMTP relay answered {exc.code} {exc.message}", False
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPConnectTimeoutError):
        return f"could not connect to the SMTP relay (HOOKLINE_SMTP_URL): {_reason(exc)}", False
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return "the SMTP relay closed the connection before it accepted the mail", False
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return "the SMTP relay did not answer in time", False
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the SMTP relay failed: {exc.reason or type(exc).__name__}", False
    if isinstance(exc, aiosmtplib.SMTPException):
        return f"the SMTP relay: {exc.message}", False
    if isinstance(exc, OSError):
        return f"could not reach the SMTP relay (HOOKLINE_SMTP_URL): {_reason(exc)}", False
    return f"sending mail failed: {type(exc).__name__}", False


def _reason(exc: BaseException) -> str:
    """Why a connection failed, without the relay's address (attempt logs are shown to
    tenants; the operator's log line has it)."""
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    if isinstance(cause, ssl.SSLError):
        return f"TLS failed: {cause.reason or type(cause).__name__}"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "the relay's host name does not resolve"
    if isinstance(cause, TimeoutError):
        return "timed out"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(cause).__name__


async def _shut(session: _Session) -> None:
    """Say goodbye to an idle connection (briefly), or just close a broken one."""
    if session.smtp.is_connected:
        try:
            async with asyncio.timeout(2):
                await session.smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass
    session.smtp.close()


def _fqdn() -> str:
    return socket.getfqdn() or "localhost"
