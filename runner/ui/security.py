"""Who may talk to the server: the token, the Host and the Origin, checked on every request.

- The URL printed at start carries a random token (`?token=...`, as Jupyter does); every
  request must carry it, in the query or in the `X-Runner-Token` header. Without it: 403.
- `Host` must name this machine by IP address or `localhost`, with the server's port: a
  DNS-rebinding page (`evil.example:8765` resolving to 127.0.0.1) is refused.
- `Origin`, when sent, must be this server itself; a request that changes anything (POST)
  must carry the token in the header, which a cross-site form cannot send and a cross-site
  script cannot either without a CORS preflight, which is never granted.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_HEADER = "x-runner-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Every answer: no framing by other sites, no referrer (the URL holds the token), and scripts,
# styles and data only from this server.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
     b" connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]  # fmt: skip


def new_token() -> str:
    return secrets.token_urlsafe(24)


def host_allowed(host: str, port: int) -> bool:
    """`Host` names this server: localhost or an IP literal, and the server's port."""
    name, sep, given_port = host.rpartition(":")
    if not sep or given_port != str(port):
        return False
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware refusing, with 403, every request that fails the checks above."""

    def __init__(self, app: ASGIApp, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reason = self.refusal(scope)
        if reason is not None:
            await _forbidden(send, reason)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)

    def refusal(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not host_allowed(host, self.port):
            return f"host {host!r} is not this server: open the URL runner printed"
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return "cross-origin requests are refused"
        if headers.get("sec-fetch-site") == "cross-site":
            return "cross-site requests are refused"
        header_token = headers.get(TOKEN_HEADER, "")
        if scope["method"] not in SAFE_METHODS:
            given = header_token
        else:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = header_token or (query.get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return "a valid token is needed: open the URL runner printed (it ends in ?token=...)"
        return None


async def _forbidden(send: Send, reason: str) -> None:
    body = f"403 forbidden: {reason}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
