"""`nats://` destinations: publish each attempt on a NATS subject, through JetStream when the URL
names a stream.

    nats://[user:pass@]host:4222?subject=S               core NATS: PUBLISH, then a round trip
                                                         (flush) so the server has it
    nats://[user:pass@]host:4222?subject=S&stream=NAME   JetStream: the attempt succeeds on the
                                                         stream's ack, and only from stream NAME

NATS headers carry the signature headers, `x-webhook-event` and the webhook's own headers; a
JetStream message also carries `Nats-Msg-Id` (its `webhook-id`), so a retry after a lost ack is
stored once within the stream's duplicate window. hookline declares nothing: a stream that is
missing, or that does not capture the subject, is a failed attempt saying so.

One connection per destination (the URL without its query), from `pool.Pool`, to the address the
SSRF guard checked, with nats-py's reconnect loop off: a server that is down is a failed attempt
now, retried on the schedule. Library errors are translated here: no message carries a password.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

from hookline.destinations import guard
from hookline.destinations.pool import Pool, Unsent, tls_reason
from hookline.ssrf import NetworkPolicy
from hookline.transport import OutboundRequest, Result

log = logging.getLogger(__name__)

DEFAULT_PORT = 4222
CONNECT_TIMEOUT = 5  # seconds; the attempt's own timeout bounds it too
# nats-py's connect loops over its server list for ever unless a server may be retried only a
# bounded number of times: 1 retry, at once, then the attempt fails.
_CONNECT_RETRIES = 1
# JetStream's ack is awaited until the attempt's own timeout (`Destinations.post`) ends it.
_NO_OWN_TIMEOUT = 3600.0
_ABANDON_WAIT = 0.5  # seconds
EXPECTED_STREAM_MISMATCH = 10060  # JetStream's err_code for "expected stream does not match"


@dataclass(frozen=True, slots=True)
class Target:
    """What a `nats://` URL names; `password` never leaves this module."""

    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    subject: str
    stream: str | None

    @property
    def where(self) -> str:
        return f"NATS at {self.host}:{self.port}"


def parse(url: str) -> Target:
    """Read a destination URL (already checked at save time by `urls.check`)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    return Target(
        host=parts.hostname or "",
        port=parts.port or DEFAULT_PORT,
        user=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        subject=params.get("subject", ""),
        stream=params.get("stream"),
    )


def headers(request: OutboundRequest, *, jetstream: bool) -> dict[str, str]:
    """The NATS headers of one attempt: every request header (`content-type`, the signature
    headers, `x-webhook-event`, the webhook's own); on JetStream also `Nats-Msg-Id`, the
    `webhook-id`, for the stream's de-duplication."""
    found = dict(request.headers)
    if jetstream:
        ids = [v for k, v in request.headers.items() if k.lower() == "webhook-id"]
        if ids:
            found["Nats-Msg-Id"] = ids[0]
    return found


class Nats:
    def __init__(self, policy: NetworkPolicy, *, idle: float) -> None:
        self._policy = policy
        self._pool: Pool[Client] = Pool(self._open, _shut, idle=idle)

    async def send(self, request: OutboundRequest) -> Result:
        target = parse(request.url)

        async def publish(client: Client) -> str:
            if target.stream is None:
                return await _publish(client, target, request)
            return await _publish_to_stream(client, target, target.stream, request)

        return await self._pool.deliver(
            request.url.partition("?")[0], lambda client: client.is_connected, publish
        )

    async def close(self) -> None:
        await self._pool.close()

    async def _open(self, key: str) -> Client:
        target = parse(key)
        address = await guard.reach(target.host, target.port, self._policy, where=target.where)
        host = f"[{address}]" if ":" in address else address
        client = Client()
        try:
            await client.connect(
                servers=[f"nats://{host}:{target.port}"],
                user=target.user,
                password=target.password,
                allow_reconnect=False,
                max_reconnect_attempts=_CONNECT_RETRIES,
                reconnect_time_wait=0,
                connect_timeout=CONNECT_TIMEOUT,
                # A server that requires TLS gets it, its certificate checked against the name.
                tls_hostname=target.host,
                error_cb=_quiet,
                name="hookline",
            )
        except BaseException as exc:
            await _abandon(client)
            if isinstance(exc, nats.errors.Error | OSError | TimeoutError):
                raise _refused(target, exc) from None
            raise
        return client


async def _publish(client: Client, target: Target, request: OutboundRequest) -> str:
    try:
        await client.publish(
            target.subject, request.body, headers=headers(request, jetstream=False)
        )
        await client.flush()  # a PING/PONG round trip: the server has read the message
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        raise _lost(target, exc) from None
    return f"published to {target.subject}"


async def _publish_to_stream(
    client: Client, target: Target, stream: str, request: OutboundRequest
) -> str:
    try:
        ack = await client.jetstream().publish(
            target.subject,
            request.body,
            stream=stream,
            headers=headers(request, jetstream=True),
            timeout=_NO_OWN_TIMEOUT,
        )
    except nats.js.errors.NoStreamResponseError:
        raise Unsent(
            f"no JetStream stream captures subject {target.subject} ({stream} does not exist "
            "or does not take this subject): the operator creates it (hookline declares nothing)"
        ) from None
    except nats.js.errors.APIError as exc:
        if exc.err_code == EXPECTED_STREAM_MISMATCH:
            raise Unsent(
                f"subject {target.subject} is captured by another JetStream stream, not {stream}"
            ) from None
        raise Unsent(f"JetStream refused the message: {exc.description or exc.code}") from None
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        raise _lost(target, exc) from None
    if ack.stream != stream:
        raise Unsent(f"JetStream stream {ack.stream} acknowledged the message, not {stream}")
    return f"JetStream {ack.stream} seq {ack.seq}" + (" (duplicate)" if ack.duplicate else "")


def _refused(target: Target, exc: BaseException) -> Unsent:
    """Why a connection could not be opened, in words, without the URL's credentials."""
    if isinstance(exc, nats.errors.AuthorizationError) or "authorization" in str(exc).lower():
        who = f"user {target.user}" if target.user else "a client without credentials"
        return Unsent(
            f"authentication failed at {target.where}: the server refused {who} "
            "(check the user and password in the url)"
        )
    if isinstance(exc, ssl.SSLError):
        return Unsent(f"could not connect to {target.where}: TLS failed ({tls_reason(exc)})")
    if isinstance(exc, nats.errors.NoServersError | OSError):
        return Unsent(f"could not connect to {target.where} (connection refused or unreachable)")
    if isinstance(exc, TimeoutError):
        return Unsent(f"could not connect to {target.where} (no answer within the timeout)")
    return Unsent(f"could not connect to {target.where} ({type(exc).__name__})")


def _lost(target: Target, exc: BaseException) -> Unsent:
    if isinstance(exc, TimeoutError):
        return Unsent(f"{target.where} did not answer in time")
    return Unsent(f"lost the connection to {target.where} ({type(exc).__name__})", broken=True)


async def _quiet(exc: Exception) -> None:
    """nats-py's error callback: its default logs the library's message; the attempt's error
    says what went wrong, so this keeps to the error's type."""
    log.debug("nats: %s", type(exc).__name__)


async def _shut(client: Client) -> None:
    await client.close()


async def _abandon(client: Client) -> None:
    """Close a client whose connect failed: nats-py leaves the refused socket open, and its
    `close` waits for ever on a socket a failed TLS upgrade took over, so it gets a moment."""
    try:
        async with asyncio.timeout(_ABANDON_WAIT):
            await client.close()
    except Exception as exc:  # TimeoutError included: the socket itself is closed by then
        log.debug("closing a refused NATS connection: %s", type(exc).__name__)
