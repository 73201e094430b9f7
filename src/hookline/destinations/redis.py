"""`redis://` destinations: PUBLISH the body to a channel, or XADD it to a stream.

    redis://[user:pass@]host:6379/0?channel=NAME          PUBLISH NAME <body>
    redis://[user:pass@]host:6379/0?stream=NAME[&maxlen=N] XADD NAME [MAXLEN ~ N] * body <body>
                                                           <header> <value> ...
    rediss://...                                           the same over TLS

A stream entry carries the body and every header an HTTP attempt would send but the content
type (the signature headers, `x-webhook-event`, the webhook's own headers), names in lower case;
a channel message is the body alone (pub/sub has no headers).

One redis-py client per server (the URL without its query) in a `Pool`: opened on first use to
the address the SSRF guard checked, closed when idle, dropped after a connection error so the
next attempt connects afresh. redis-py names hosts (and may name URLs) in its messages: every
error is translated here, and never carries the URL's credentials.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from redis import exceptions
from redis.asyncio import ConnectionPool
from redis.asyncio import Redis as Client
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from hookline.destinations import guard
from hookline.destinations.pool import Pool
from hookline.ssrf import NetworkPolicy
from hookline.transport import Accepted, Failure, OutboundRequest, Result, elapsed_ms

DEFAULT_PORT = 6379
CLIENT_NAME = "hookline"
# Headers of an HTTP attempt that say nothing to a stream's reader.
NOT_FIELDS = frozenset({"content-type"})


@dataclass(frozen=True, slots=True)
class Server:
    """The Redis server a URL names: the pool's key is `url` (its credentials included)."""

    url: str
    host: str
    port: int
    db: int
    username: str | None
    password: str | None
    tls: bool

    @property
    def where(self) -> str:
        """host:port, for messages (no credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: a channel (PUBLISH) or a stream (XADD, trimmed to ~maxlen)."""

    server: Server
    channel: str | None = None
    stream: str | None = None
    maxlen: int | None = None


def parse(url: str) -> Target:
    """Read a redis URL checked at save time (hookline.destinations.urls)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    server_url = url.split("?", 1)[0].split("#", 1)[0]
    database = parts.path.strip("/")
    server = Server(
        url=server_url,
        host=parts.hostname or "",
        port=parts.port or DEFAULT_PORT,
        db=int(database) if database else 0,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme.lower() == "rediss",
    )
    maxlen = query.get("maxlen")
    return Target(
        server=server,
        channel=query.get("channel"),
        stream=query.get("stream"),
        maxlen=int(maxlen) if maxlen else None,
    )


def fields(request: OutboundRequest) -> dict[str, str | bytes]:
    """A stream entry's fields: `body`, then the attempt's headers (names in lower case)."""
    entry: dict[str, str | bytes] = {"body": request.body}
    for name, value in request.headers.items():
        key = name.lower()
        if key not in NOT_FIELDS and key != "body":
            entry[key] = value
    return entry


class _TLSConnection(SSLConnection):
    """TLS to the checked address, verifying the certificate for the host name of the URL."""

    def __init__(self, *, server_hostname: str, **kwargs: Any) -> None:
        self._server_hostname = server_hostname
        super().__init__(**kwargs)

    def _connection_arguments(self) -> Mapping[str, Any]:
        return {**super()._connection_arguments(), "server_hostname": self._server_hostname}


class Redis:
    """Every redis destination of this process, one client per server."""

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        idle: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self.pool: Pool[Client] = Pool(self._open, _shut, idle=idle, clock=clock)

    async def _open(self, key: str) -> Client:
        server = parse(key).server
        address = await guard.address(server.host, server.port, self._policy)
        options: dict[str, Any] = {
            "host": address,
            "port": server.port,
            "db": server.db,
            "username": server.username,
            "password": server.password,
            "client_name": CLIENT_NAME,
            # One try per attempt: the delivery schedule retries, not the client.
            "retry": Retry(NoBackoff(), 0),
        }
        if server.tls:
            options |= {"connection_class": _TLSConnection, "server_hostname": server.host}
        else:
            options["connection_class"] = Connection
        return Client.from_pool(ConnectionPool(**options))

    async def send(self, request: OutboundRequest) -> Result:
        target = parse(request.url)
        server = target.server
        started = time.perf_counter()
        try:
            client = await self.pool.get(server.url)
            detail = await _command(client, target, request)
        except guard.Refused as exc:
            return _failure(f"could not connect to redis at {server.where}: {exc}", started)
        except exceptions.AuthenticationError:
            await self.pool.discard(server.url)
            return _failure(_authentication(server), started)
        except exceptions.ResponseError as exc:
            command = "PUBLISH" if target.channel is not None else "XADD"
            reason = _scrub(str(exc), server)
            return _failure(f"redis at {server.where} refused {command}: {reason}", started)
        except (exceptions.ConnectionError, exceptions.TimeoutError, OSError) as exc:
            await self.pool.discard(server.url)
            reason = _connection_reason(exc, server)
            return _failure(f"could not connect to redis at {server.where}: {reason}", started)
        except exceptions.RedisError as exc:
            await self.pool.discard(server.url)
            return _failure(
                f"redis at {server.where}: {type(exc).__name__}: {_scrub(str(exc), server)}",
                started,
            )
        return Accepted(detail=detail, latency_ms=elapsed_ms(started))

    async def close(self) -> None:
        await self.pool.close()


async def _command(client: Client, target: Target, request: OutboundRequest) -> str:
    """Send the attempt; returns what Redis answered, in words."""
    if target.channel is not None:
        receivers = await client.publish(target.channel, request.body)
        noun = "subscriber" if receivers == 1 else "subscribers"
        return f"PUBLISH to {target.channel} reached {receivers} {noun}"
    assert target.stream is not None
    entry_id = await client.xadd(
        target.stream,
        fields(request),  # type: ignore[arg-type]  # redis-py's stub wants its own dict type
        maxlen=target.maxlen,
        approximate=True,
    )
    shown = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return f"XADD {target.stream} id {shown}"


async def _shut(client: Client) -> None:
    await client.aclose()


def _authentication(server: Server) -> str:
    if server.password is None:
        return (
            f"authentication failed: redis at {server.where} requires a password; give it in "
            "the URL (redis://:PASSWORD@host:port/0, or redis://USER:PASSWORD@... for an ACL "
            "user)"
        )
    who = f"user {server.username!r}" if server.username else "the password"
    return (
        f"authentication failed: redis at {server.where} refused {who} of the URL "
        "(a wrong password, an unknown or disabled user)"
    )


def _connection_reason(exc: BaseException, server: Server) -> str:
    """Why a connection failed, in words, from the error under redis-py's."""
    cause = exc if isinstance(exc, OSError) else (exc.__cause__ or exc.__context__)
    if isinstance(cause, socket.gaierror):
        return f"the name {server.host} does not resolve"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS: the server's certificate is not trusted ({cause.verify_message})"
    if isinstance(cause, ssl.SSLError):
        return f"TLS: {cause.reason or 'handshake failed'}"
    if isinstance(cause, TimeoutError) or isinstance(exc, exceptions.TimeoutError):
        return "timed out"
    if isinstance(cause, OSError) and cause.errno is not None and cause.errno > 0:
        if cause.errno == errno.ECONNREFUSED:
            return "connection refused (is the server running, and on this port?)"
        return os.strerror(cause.errno).lower()
    return _scrub(str(exc), server) or type(exc).__name__


def _scrub(message: str, server: Server) -> str:
    """A message from the client or server, without the URL's credentials, one line."""
    for secret in (server.password, server.url):
        if secret:
            message = message.replace(secret, "****")
    return " ".join(message.split())[:300]


def _failure(error: str, started: float) -> Failure:
    return Failure(error=error, latency_ms=elapsed_ms(started))
