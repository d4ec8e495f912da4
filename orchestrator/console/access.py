"""Who may open the console: the login page, the session cookie, CSRF tokens, logout (docs/console.md, "Access").

The rules, in one place:

- **Open or not.** Under `journey dev` with no JOURNEY_API_KEYS the API takes calls without a key
  (ApiKeyAuth.open) and the console is open too, unless JOURNEY_CONSOLE_PASSWORD is set. Everywhere
  else every page but /console/login and /console/static/* asks for a login.
- **The password.** JOURNEY_CONSOLE_PASSWORD when it is set; otherwise any of the API keys is
  accepted as the password, so `journey api` (which refuses to start without a key) always has one.
  With neither, nobody can log in and the login page says which variable to set.
- **The session** is a cookie `journey_console` holding `<expiry>.<nonce>.<signature>`: the
  signature is HMAC-SHA256 over expiry and nonce with a key derived from the password (or the keys),
  checked with `hmac.compare_digest`. It expires 12 hours after the login (the cookie's Max-Age and
  the signed expiry alike), and changing the password ends every session. Flags: `HttpOnly`,
  `SameSite=Strict`, `Path=/console`, and `Secure` when the request came over HTTPS: its own scheme,
  or `X-Forwarded-Proto: https` from a proxy that ends TLS. Trusting that header is safe here because it
  can only add the flag: a client that forges it on plain HTTP only gets a cookie its browser won't keep.
- **CSRF.** Every POST form carries a hidden `csrf_token`: an HMAC of the session's nonce, so it
  is tied to one session, checked on every POST but the login (which has no session yet). A
  wrong or missing token is a 403 page saying to reload the page and try again. The open console
  has a token too, made from a key the process draws at start: a page of another site cannot read
  it, so it cannot post on the user's behalf to the console of their `journey dev`.
- **Guessing.** Every login attempt takes a lock, one at a time per process, and a wrong one holds
  it for `failed_login_delay` (1 s) before the answer, which is the same for every wrong password.
  Parallel requests queue behind the lock, so one process checks at most one wrong password per
  second whatever the attacker does, and no attacker can lock the real user out, as a counter of
  failures that blocks every login would. A long random API key cannot be guessed at that rate;
  a human password is slowed to one try per second.
- **Going back.** The login returns to the page that was asked for, only when it is a path under
  /console (no scheme, no host, no `//`, no backslash): anything else returns to /console, so a
  crafted link cannot send someone elsewhere after they log in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from orchestrator.console.rendering import PREFIX, render, secured

COOKIE = "journey_console"
SESSION_LIFETIME = timedelta(hours=12)
PASSWORD_VARIABLE = "JOURNEY_CONSOLE_PASSWORD"
REPO_URL_VARIABLE = "JOURNEY_REPO_URL"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class ConsoleSettings:
    """What `journey api` and `journey dev` read for the console (orchestrator/host/setting_readers.py)."""

    password: str | None = None
    """JOURNEY_CONSOLE_PASSWORD; None: the API keys are the passwords."""
    repo_url: str | None = None
    """JOURNEY_REPO_URL: the journeys folder as the repository host shows its files; each journey links to `{repo_url}/{id}.yaml`."""


class PageAnswer(Exception):
    """Raised by a dependency to answer with `response` instead of the page (a redirect to the login, the CSRF page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class ConsoleAccess:
    """The console's gate: built once per app from the settings and the API's keys (see the module docstring)."""

    passwords: tuple[str, ...]
    """Accepted at the login; empty with `open`, or when nothing is configured (then nobody can log in)."""
    open: bool
    """No login: `journey dev` without JOURNEY_API_KEYS or JOURNEY_CONSOLE_PASSWORD."""
    failed_login_delay: timedelta = timedelta(seconds=1)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """How the delay is waited (tests record it instead of waiting)."""
    clock: Callable[[], float] = time.time
    _key: bytes = field(init=False, repr=False)
    _login_lock: asyncio.Lock = field(init=False, repr=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if self.passwords:
            # The key follows the passwords: a new password ends the sessions signed with the old one.
            material = b"\0".join(sorted(password.encode() for password in self.passwords))
            self._key = hmac.new(b"journey console session v1", material, hashlib.sha256).digest()
        else:
            self._key = secrets.token_bytes(32)  # the open console's CSRF tokens: good for this process only

    @classmethod
    def build(cls, settings: ConsoleSettings, *, api_keys: frozenset[str] | None, api_open: bool) -> ConsoleAccess:
        """The console's rule from the API's: open exactly when the API is open and no console password is set."""
        if settings.password:
            return cls((settings.password,), open=False)
        return cls(tuple(sorted(api_keys or ())), open=api_open)

    # The session

    def new_session(self) -> str:
        """A new session's cookie value."""
        expiry = int(self.clock() + SESSION_LIFETIME.total_seconds())
        nonce = secrets.token_urlsafe(16)
        return f"{expiry}.{nonce}.{self._sign(f'{expiry}.{nonce}')}"

    def session_nonce(self, request: Request) -> str | None:
        """The nonce of the request's valid, unexpired session cookie; None without one."""
        value = request.cookies.get(COOKIE, "")
        expiry, _, rest = value.partition(".")
        nonce, _, signature = rest.partition(".")
        if not (expiry.isdigit() and nonce and signature):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{expiry}.{nonce}")):
            return None
        return nonce if int(expiry) > self.clock() else None

    def csrf_token(self, nonce: str | None) -> str:
        return self._sign(f"csrf:{nonce}" if nonce is not None else "csrf:open")

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    # The dependency

    async def require_login(self, request: Request) -> None:
        """Every console page's dependency: lets a signed-in (or open) request through, checks CSRF on POST.

        Without a session, a GET is sent to the login page (which brings it back); a POST too, since
        what it would have changed cannot be replayed after the login.
        """
        nonce = None
        if not self.open:
            nonce = self.session_nonce(request)
            if nonce is None:
                asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise PageAnswer(login_redirect(asked if request.method == "GET" else PREFIX))
        token = self.csrf_token(nonce)
        request.state.console_csrf = token
        request.state.console_signed_in = not self.open
        if request.method == "POST":
            await self.check_csrf(request, token)

    async def check_csrf(self, request: Request, expected: str) -> None:
        presented = (await form_fields(request)).get(CSRF_FIELD)
        if presented is None or not hmac.compare_digest(presented, expected):
            raise PageAnswer(render(request, "forbidden.html", {}, status=403, private=True))

    # The login

    async def password_accepted(self, password: str) -> bool:
        """Whether `password` is one of the passwords; a wrong one answers only after the delay (module docstring)."""
        async with self._login_lock:
            presented = password.encode()
            # Compared with every password, each in constant time: how long it takes says nothing about which.
            matched = any([hmac.compare_digest(presented, known.encode()) for known in self.passwords])
            if not matched:
                await self.sleep(self.failed_login_delay.total_seconds())
            return matched


def access_routes(access: ConsoleAccess) -> tuple[APIRouter, APIRouter]:
    """The login page (open to all) and the logout (behind `require_login`, so its CSRF token is checked)."""
    public, guarded = APIRouter(), APIRouter()

    @public.get(f"{PREFIX}/login", include_in_schema=False)
    async def login_page(request: Request, next: str | None = None) -> Response:
        if access.open:
            return secured(RedirectResponse(local_target(next), status_code=303))
        return _login_form(request, access, local_target(next), error=None, status=200)

    @public.post(f"{PREFIX}/login", include_in_schema=False)
    async def log_in(request: Request) -> Response:
        form = await form_fields(request)
        password, target = form.get("password"), local_target(form.get("next"))
        if access.open:
            return secured(RedirectResponse(target, status_code=303))
        if not access.passwords:
            return _login_form(request, access, target, error=None, status=503)
        if password is None or not await access.password_accepted(password):
            return _login_form(request, access, target, error="That password is not right. Try again.", status=401)
        response = secured(RedirectResponse(target, status_code=303), private=True)
        set_session(response, request, access.new_session())
        return response

    @guarded.post(f"{PREFIX}/logout", include_in_schema=False)
    async def log_out(request: Request) -> Response:
        response = secured(RedirectResponse(PREFIX if access.open else f"{PREFIX}/login", status_code=303), private=True)
        clear_session(response, request)
        return response

    return public, guarded


def _login_form(request: Request, access: ConsoleAccess, target: str, *, error: str | None, status: int) -> Response:
    context = {"next": target, "error": error, "configured": bool(access.passwords), "password_variable": PASSWORD_VARIABLE}
    return render(request, "login.html", context, status=status, private=True)


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted form (`application/x-www-form-urlencoded`, what every console form sends), first value of each.

    Read from the body, which Starlette keeps, so the page reads the fields again after the CSRF check;
    parsed with the standard library rather than python-multipart, which these small forms do not need.
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}


def is_https(request: Request) -> bool:
    """Served over HTTPS: the request's own scheme, or what a TLS-ending proxy says in X-Forwarded-Proto (first hop)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def local_target(asked: str | None) -> str:
    """`asked` when it is a path under /console of this site; /console for anything else (no open redirect)."""
    if not asked or "\\" in asked or any(ord(char) < 0x20 or ord(char) == 0x7F for char in asked):
        return PREFIX
    parts = urlsplit(asked)
    if parts.scheme or parts.netloc or asked.startswith("//"):
        return PREFIX
    if parts.path != PREFIX and not parts.path.startswith(PREFIX + "/"):
        return PREFIX
    if parts.path.startswith(f"{PREFIX}/login") or parts.path.startswith(f"{PREFIX}/logout"):
        return PREFIX
    return asked


def login_redirect(asked: str) -> Response:
    target = local_target(asked)
    location = f"{PREFIX}/login" if target == PREFIX else f"{PREFIX}/login?next={quote(target, safe='/')}"
    return secured(RedirectResponse(location, status_code=303), private=True)


def set_session(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=is_https(request))
