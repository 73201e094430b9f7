"""`amqp://` destinations: publish each attempt to an exchange on RabbitMQ.

    amqp://user:pass@host:5672/vhost?exchange=X&routing_key=Y     (amqps:// for TLS)

hookline declares nothing: the exchange is checked passively, and one that is missing is a failed
attempt saying so. The message is persistent, published mandatory with publisher confirms on: the
attempt succeeds when RabbitMQ confirms it; a message no queue is bound to take is returned by
RabbitMQ and the attempt fails (retried on the schedule) rather than being dropped unseen.

One connection per destination (the URL without its query), from `pool.Pool`, to the address the
SSRF guard checked; each attempt publishes on a channel of its own, reused by later attempts
(a missing exchange closes that channel, never the connection other attempts share). Library
errors are translated here: no message carries a password.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, ConnectionParameter, DeliveryMode

from hookline.destinations import guard
from hookline.destinations.pool import Pool, Unsent, tls_reason
from hookline.ssrf import NetworkPolicy
from hookline.transport import OutboundRequest, Result

log = logging.getLogger(__name__)

DEFAULT_PORT = 5672
TLS_PORT = 5671


@dataclass(frozen=True, slots=True)
class Target:
    """What an `amqp://` URL names; `password` never leaves this module."""

    tls: bool
    host: str
    port: int
    vhost: str
    login: str
    password: str = field(repr=False)  # out of any log line or traceback
    exchange: str
    routing_key: str | None

    @property
    def where(self) -> str:
        return f"RabbitMQ at {self.host}:{self.port}"


def parse(url: str) -> Target:
    """Read a destination URL (already checked at save time by `urls.check`). The vhost is the
    percent-decoded path ("/" when empty, as in `amqp://host:5672/`); user and password default
    to RabbitMQ's guest/guest, as the AMQP URI spec says."""
    parts = urlsplit(url)
    tls = parts.scheme.lower() == "amqps"
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    params = dict(parse_qsl(parts.query))
    return Target(
        tls=tls,
        host=parts.hostname or "",
        port=parts.port or (TLS_PORT if tls else DEFAULT_PORT),
        vhost=unquote(path) or "/",
        login=unquote(parts.username) if parts.username is not None else "guest",
        password=unquote(parts.password) if parts.password is not None else "guest",
        exchange=params.get("exchange", ""),
        routing_key=params.get("routing_key"),
    )


def message(request: OutboundRequest) -> aio_pika.Message:
    """The AMQP message of one attempt: the body, persistent, `content_type` from the request,
    `message_id` its `webhook-id` (the receiver's idempotency key), every other header (the
    signature headers, `x-webhook-event`, the webhook's own) as a message header."""
    headers: dict[str, str] = {}
    content_type = "application/json"
    for name, value in request.headers.items():
        if name.lower() == "content-type":
            content_type = value
        else:
            headers[name] = value
    found = [v for k, v in request.headers.items() if k.lower() == "webhook-id"]
    return aio_pika.Message(
        request.body,
        headers=dict(headers),
        content_type=content_type,
        delivery_mode=DeliveryMode.PERSISTENT,
        # RabbitMQ hands a returned (unroutable) message back by its id: every message has one.
        message_id=found[0] if found else f"msg_{uuid.uuid4().hex}",
        timestamp=time.time(),
    )


def routing_key(target: Target, request: OutboundRequest) -> str:
    """The URL's `routing_key`, else the event type (`x-webhook-event`)."""
    if target.routing_key is not None:
        return target.routing_key
    found = [v for k, v in request.headers.items() if k.lower() == "x-webhook-event"]
    return found[0] if found else ""


class GuardedConnection(aio_pika.Connection):
    """aio-pika's plain (not robust: no reconnect loop) connection, taught one more keyword:
    `server_hostname`, so a TLS connection to the address the SSRF guard checked still verifies
    the certificate against the host name."""

    PARAMETERS = (
        *aio_pika.Connection.PARAMETERS,
        ConnectionParameter(name="server_hostname", parser=str, is_kwarg=True),
    )


class Link:
    """One connection and the channels idle on it. An attempt takes a channel of its own (opening
    one costs more than the publish) and gives it back when it is still open: a missing exchange
    closes that channel only, never a neighbour's publish."""

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self._idle: list[AbstractChannel] = []
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def is_closed(self) -> bool:
        return self.connection.is_closed

    async def take(self) -> AbstractChannel:
        while self._idle:
            channel = self._idle.pop()
            if not channel.is_closed:
                return channel
        return await self.connection.channel(publisher_confirms=True, on_return_raises=True)

    def give_back(self, channel: AbstractChannel) -> None:
        if not channel.is_closed:
            self._idle.append(channel)

    def drop(self, channel: AbstractChannel) -> None:
        """Close a channel an interrupted attempt left in an unknown state, without waiting."""
        task = asyncio.get_running_loop().create_task(_close_quietly(channel))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        await self.connection.close()


class Amqp:
    def __init__(self, policy: NetworkPolicy, *, idle: float) -> None:
        self._policy = policy
        self._pool: Pool[Link] = Pool(self._open, _shut, idle=idle)

    async def send(self, request: OutboundRequest) -> Result:
        target = parse(request.url)
        return await self._pool.deliver(
            request.url.partition("?")[0],
            lambda link: not link.is_closed,
            lambda link: _publish(link, target, request),
        )

    async def close(self) -> None:
        await self._pool.close()

    async def _open(self, key: str) -> Link:
        target = parse(key)
        address = await guard.reach(target.host, target.port, self._policy, where=target.where)
        url = aio_pika.connection.make_url(
            host=address,
            port=target.port,
            login=target.login,
            password=target.password,
            virtualhost=target.vhost,
            ssl=target.tls,
        )
        connection = (
            GuardedConnection(
                url, ssl_context=ssl.create_default_context(), server_hostname=target.host
            )
            if target.tls
            else GuardedConnection(url)
        )
        try:
            await connection.connect()
        except BaseException as exc:
            await connection.close()
            if isinstance(exc, Exception):
                raise _refused(target, exc) from None
            raise
        return Link(connection)


async def _publish(link: Link, target: Target, request: OutboundRequest) -> str:
    key = routing_key(target, request)
    try:
        channel = await link.take()
    except (aiormq.exceptions.AMQPConnectionError, ConnectionError, RuntimeError) as exc:
        raise Unsent(
            f"lost the connection to {target.where} ({_reason(exc)})", broken=True
        ) from None
    try:
        await _publish_on(channel, target, key, request)
    except Unsent:
        link.give_back(channel)  # still open after a returned or nacked message
        raise
    except (aiormq.exceptions.AMQPConnectionError, ConnectionError) as exc:
        raise Unsent(
            f"lost the connection to {target.where} ({_reason(exc)})", broken=True
        ) from None
    except BaseException:  # cancelled by the attempt's timeout: a confirm may still be due
        link.drop(channel)
        raise
    link.give_back(channel)
    return f"confirmed by RabbitMQ (exchange {target.exchange}, key {key})"


async def _publish_on(
    channel: AbstractChannel, target: Target, key: str, request: OutboundRequest
) -> None:
    try:
        exchange = await channel.get_exchange(target.exchange, ensure=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        raise Unsent(
            f"exchange {target.exchange} does not exist on vhost {target.vhost}: "
            "the operator declares it (hookline declares nothing)"
        ) from None
    except aiormq.exceptions.ChannelAccessRefused:
        raise Unsent(
            f"user {target.login} may not use exchange {target.exchange} on vhost "
            f"{target.vhost} (RabbitMQ refused access)"
        ) from None
    try:
        await exchange.publish(message(request), routing_key=key, mandatory=True)
    except aiormq.exceptions.PublishError:
        raise Unsent(
            f"no queue is bound to exchange {target.exchange} for routing key {key!r}: "
            "RabbitMQ returned the message unrouted (the operator binds a queue)"
        ) from None
    except aiormq.exceptions.DeliveryError:
        raise Unsent(f"{target.where} refused the message (nack)") from None
    except aiormq.exceptions.ChannelClosed as exc:
        raise Unsent(f"{target.where} closed the channel: {_reason(exc)}") from None


def _refused(target: Target, exc: Exception) -> Unsent:
    """Why a connection could not be opened, in words, without the URL's credentials."""
    if isinstance(exc, aiormq.exceptions.ProbableAuthenticationError):
        return Unsent(
            f"authentication failed at {target.where}: RabbitMQ refused user {target.login} "
            "(check the user and password in the url)"
        )
    if isinstance(exc, aiormq.exceptions.IncompatibleProtocolError):
        return Unsent(f"could not connect to {target.where}: it does not speak AMQP 0-9-1")
    if isinstance(exc, aiormq.exceptions.InvalidFrameError | aiormq.exceptions.ConnectionClosed):
        return Unsent(
            f"{target.where} refused to open vhost {target.vhost} for user {target.login} "
            "(does the vhost exist, and may the user use it?)"
        )
    cause = exc.__cause__ or exc  # aiormq wraps the OSError of the socket
    if isinstance(cause, ssl.SSLError):
        return Unsent(f"could not connect to {target.where}: TLS failed ({tls_reason(cause)})")
    return Unsent(f"could not connect to {target.where} ({_reason(exc)})")


def _reason(exc: BaseException) -> str:
    """A short reason from a connection error: the OS's words for its errno, else the type."""
    errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if errno is None and isinstance(exc, OSError):
        errno = exc.errno
    return os.strerror(errno).lower() if errno else type(exc).__name__


async def _shut(link: Link) -> None:
    await link.close()


async def _close_quietly(channel: AbstractChannel) -> None:
    try:
        await channel.close()
    except Exception as exc:  # the channel may already be gone with its connection
        log.debug("closing an AMQP channel: %s", type(exc).__name__)
