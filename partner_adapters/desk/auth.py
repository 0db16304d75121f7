"""Who is using the desk: a signed-in user (users file and password), or the user the
partner's reverse proxy names in a header, believed only from the configured proxies.

A sign-in lives in the desk's memory, under a random id kept in the signed session cookie:
signing out, the idle limit and the absolute limit end it here, whatever the browser still
holds, and a restart of the desk ends every sign-in.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from partner_adapters.desk.settings import IpNetwork
from partner_adapters.desk.users import Users

__all__ = ["Authenticator", "SignIns", "Throttle", "from_proxy"]

_log = logging.getLogger("partner_adapters.desk")
SESSION_ID = "sid"
_MAX_HEADER_USER = 100


@dataclass
class _SignIn:
    user: str
    since: dt.datetime
    seen: dt.datetime


class SignIns:
    """The sign-ins of this desk process, by session id."""

    def __init__(
        self, max_age: dt.timedelta, idle: dt.timedelta, clock: Callable[[], dt.datetime]
    ) -> None:
        self._max_age, self._idle, self._clock = max_age, idle, clock
        self._by_id: dict[str, _SignIn] = {}

    def start(self, user: str) -> str:
        self._forget_expired()
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        self._by_id[session_id] = _SignIn(user, now, now)
        return session_id

    def user(self, session_id: object) -> str | None:
        """The signed-in user of this session, if the sign-in is still valid (and then it
        counts as used now)."""
        if not isinstance(session_id, str):
            return None
        sign_in = self._by_id.get(session_id)
        if sign_in is None:
            return None
        now = self._clock()
        if now - sign_in.since >= self._max_age or now - sign_in.seen >= self._idle:
            del self._by_id[session_id]
            return None
        sign_in.seen = now
        return sign_in.user

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str):
            self._by_id.pop(session_id, None)

    def _forget_expired(self) -> None:
        now = self._clock()
        for key in [
            k
            for k, s in self._by_id.items()
            if now - s.since >= self._max_age or now - s.seen >= self._idle
        ]:
            del self._by_id[key]


class Throttle:
    """At most `limit` failed sign-ins per user name in `window`; then that name waits."""

    def __init__(
        self,
        clock: Callable[[], dt.datetime],
        *,
        limit: int = 5,
        window: dt.timedelta = dt.timedelta(minutes=15),
        names: int = 10_000,
    ) -> None:
        self._clock, self._limit, self._window, self._names = clock, limit, window, names
        self._failures: OrderedDict[str, deque[dt.datetime]] = OrderedDict()

    def _recent(self, name: str) -> deque[dt.datetime]:
        now = self._clock()
        failures = self._failures.get(name.lower(), deque())
        while failures and now - failures[0] >= self._window:
            failures.popleft()
        return failures

    def blocked(self, name: str) -> bool:
        return len(self._recent(name)) >= self._limit

    def failed(self, name: str) -> None:
        failures = self._recent(name)
        failures.append(self._clock())
        self._failures[name.lower()] = failures
        self._failures.move_to_end(name.lower())
        while len(self._failures) > self._names:
            self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        self._failures.pop(name.lower(), None)


def from_proxy(connection: HTTPConnection, proxies: tuple[IpNetwork, ...]) -> bool:
    """Whether the request came (over TCP, not by a header's say-so) from a trusted proxy."""
    if connection.client is None or not proxies:
        return False
    try:
        address = ipaddress.ip_address(connection.client.host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in proxies)


class Authenticator:
    """Finds the user of a request: the proxy's header (from a trusted proxy only), else a
    sign-in of this desk whose user is still in the users file."""

    def __init__(
        self,
        sign_ins: SignIns,
        users: Users | None,
        trusted_header: str | None,
        trusted_proxies: tuple[IpNetwork, ...],
    ) -> None:
        self.sign_ins = sign_ins
        self.users = users
        self.trusted_header = trusted_header
        self.trusted_proxies = trusted_proxies
        self._warned = False

    def user(self, connection: HTTPConnection) -> str | None:
        if self.trusted_header is not None:
            named = connection.headers.get(self.trusted_header)
            if named is not None:
                if from_proxy(connection, self.trusted_proxies):
                    proxied = named.strip()
                    if proxied and len(proxied) <= _MAX_HEADER_USER and proxied.isprintable():
                        return proxied
                elif not self._warned:  # once: a client may send it with every request
                    self._warned = True
                    _log.warning(
                        "ignored the trusted user header from an address that is not in "
                        "IAJ_DESK_TRUSTED_PROXIES (logged once)"
                    )
        if self.users is None:
            return None
        signed_in = self.sign_ins.user(connection.session.get(SESSION_ID))
        if signed_in is None or not self.users.has(signed_in):
            return None
        return signed_in
