"""Outbound HTTP: one pooled aiohttp session, the SSRF guard on every connection, capped reads.

The guard sits at two places, and every request (deliveries and the webhook test send alike: both
go through `Transport.post`) passes both:
- `post` reads the URL once with `ssrf.parse_url` (yarl, IDNA/UTS-46: what aiohttp itself does),
  refuses a host `ssrf.host_refusal` rejects, and hands aiohttp that same `yarl.URL` object, so
  there is no second interpretation. This is the only check IP literals get, in any spelling:
  aiohttp connects to them without asking the resolver.
- `GuardedResolver` checks every DNS answer before aiohttp connects to it.

`post` never raises for anything the receiver or the network does: it returns a `Response` or a
`Failure` whose message says what went wrong, ready to be stored with the attempt.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hookline import __version__
from hookline.errors import InvalidInput
from hookline.ssrf import NetworkPolicy, blocked_reason, host_refusal, parse_ip_literal, parse_url

USER_AGENT = f"hookline/{__version__} (+https://www.standardwebhooks.com)"


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """What one attempt sends: to an HTTP endpoint, a POST; to a broker, a message with these
    headers; to `mailto:`, a mail whose text part is `body` (`subject`, `html` beside it)."""

    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float | None = None  # None: the transport's
    subject: str | None = None  # mailto: only
    html: str | None = None  # mailto: only


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    retry_after: str | None
    body: str
    latency_ms: int


@dataclass(frozen=True, slots=True)
class Accepted:
    """A destination that is not HTTP took the message (a relay's 250, a broker's confirm);
    `detail` says what it answered."""

    detail: str
    latency_ms: int


@dataclass(frozen=True, slots=True)
class Failure:
    """No success. `final`: the destination refused it for good (an SMTP 5xx for a recipient):
    no retry follows."""

    error: str
    latency_ms: int
    final: bool = False


Result = Response | Accepted | Failure


class Sender(Protocol):
    """What attempts are sent through: `Transport` for HTTP, `hookline.destinations.Destinations`
    for every kind of destination."""

    async def post(self, request: OutboundRequest) -> Result: ...


class BlockedAddressError(OSError):
    """DNS answered with an address the network policy forbids."""


class GuardedResolver(AbstractResolver):
    """Resolves once and refuses the whole answer if any address is not allowed; aiohttp then
    connects to exactly these addresses (Host header and TLS SNI keep the name). `inner` is
    where answers come from (aiohttp's default resolver unless a test brings its own DNS)."""

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        literal = parse_ip_literal(host)
        if literal is not None:
            subject = None if host == str(literal) else f"{host} is"
            reason = blocked_reason(literal, self._policy, subject=subject)
            if reason:
                raise BlockedAddressError(reason)
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = parse_ip_literal(result["host"])
            if address is None:
                raise BlockedAddressError(f"{host} resolves to {result['host']!r}, not an address")
            reason = blocked_reason(address, self._policy, subject=f"{host} resolves to")
            if reason:
                raise BlockedAddressError(reason)
        return results

    async def close(self) -> None:
        await self._inner.close()


class Transport:
    """The delivery HTTP client. Start it inside the event loop that will use it.

    `dns` is where DNS answers come from (aiohttp's default resolver when None); unless the
    policy opens every address, the guard wraps it."""

    def __init__(
        self,
        *,
        timeout: float,
        max_body_bytes: int,
        policy: NetworkPolicy,
        max_connections: int = 512,
        dns: AbstractResolver | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.policy = policy
        self.max_connections = max_connections
        self._dns = dns
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        inner = self._dns or DefaultResolver()
        resolver = inner if self.policy.allow_private else GuardedResolver(self.policy, inner)
        connector = aiohttp.TCPConnector(
            limit=self.max_connections,
            resolver=resolver,
            ttl_dns_cache=30,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,  # a gzip bomb stays a small compressed body
            trust_env=False,  # proxy variables must not route around the guard
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            skip_auto_headers=("Content-Type",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, request: OutboundRequest) -> Result:
        session = self._session
        if session is None:
            raise RuntimeError("Transport.start() was not called")
        started = time.perf_counter()
        try:
            url = parse_url(request.url)
        except InvalidInput as exc:
            return Failure(error=str(exc), latency_ms=0)
        blocked = host_refusal(url, self.policy, written=request.url)
        if blocked:
            return Failure(error=f"blocked by the SSRF guard: {blocked}", latency_ms=0)
        timeout = request.timeout or self.timeout
        try:
            async with session.post(
                url,
                data=request.body,
                headers=request.headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                body = await self._read_capped(response)
                return Response(
                    status_code=response.status,
                    retry_after=response.headers.get("Retry-After"),
                    body=body,
                    latency_ms=elapsed_ms(started),
                )
        except Exception as exc:  # every network failure becomes a recorded attempt
            return Failure(error=describe_error(exc, timeout), latency_ms=elapsed_ms(started))

    async def _read_capped(self, response: aiohttp.ClientResponse) -> str:
        cap = self.max_body_bytes
        data = bytearray()
        while len(data) < cap:
            chunk = await response.content.read(cap - len(data))
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (a `time.perf_counter()` reading)."""
    return round((time.perf_counter() - started) * 1000)


def describe_error(exc: BaseException, timeout: float) -> str:
    """One line a person can act on, never containing secrets (only the error's own text)."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return f"timeout: no complete response within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate rejected: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError | ssl.SSLError):
        return f"TLS handshake failed: {_reason(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        inner: Any = exc.os_error
        if isinstance(inner, BlockedAddressError):
            return f"blocked by the SSRF guard: {inner}"
        if isinstance(inner, ConnectionRefusedError):
            return f"connection refused by {exc.host}:{exc.port}"
        if isinstance(inner, socket.gaierror):
            return f"DNS lookup failed for {exc.host}: {inner.strerror}"
        return f"could not connect to {exc.host}:{exc.port}: {_reason(inner)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the receiver closed the connection without a complete response"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection error: {_reason(exc)}"
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return f"invalid HTTP response: {_reason(exc)}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc}"
    return f"{type(exc).__name__}: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
