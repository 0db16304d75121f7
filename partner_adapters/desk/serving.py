"""Serving the desk with uvicorn: from the settings (`iaj-adapter desk`), or on a free port of
this machine for a test.

    config = DeskConfig(partner=Partner.CJG, state_path=path, users=Users(users_file))
    async with running_desk(create_desk_app(config)) as url:      # in an event loop
        ...                                                         # url: http://127.0.0.1:PORT
    with desk_in_thread(create_desk_app(config)) as url:            # e.g. Playwright's sync API
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from kafka_access.ops import OpsServer
from partner_adapters.desk.app import DeskConfig, create_desk_app
from partner_adapters.desk.settings import DeskConfigError, DeskSettings, is_loopback
from partner_adapters.desk.users import Users, UsersFileError
from partner_adapters.kafka_io import deliver_once
from partner_adapters.policy_guard import local_policy
from partner_adapters.settings import AdapterSettings
from partner_adapters.state import AdapterStore

__all__ = [
    "check_sign_in",
    "desk_config",
    "desk_in_thread",
    "desk_server",
    "running_desk",
    "serve_desk",
]

_log = logging.getLogger("partner_adapters.desk")
_START_TIMEOUT = 30.0


def check_sign_in(settings: DeskSettings) -> Users | None:
    """The users file, if configured; DeskConfigError when nobody could sign in, or when the
    proxy header is configured without the proxy's addresses (or the other way round)."""
    users = None
    if settings.users_file is not None:
        try:
            users = Users(settings.users_file)
        except UsersFileError as exc:
            raise DeskConfigError(f"IAJ_DESK_USERS_FILE: {exc}") from None
    header, proxies = settings.trusted_user_header, settings.trusted_proxies
    if header is not None and not proxies:
        raise DeskConfigError(
            "IAJ_DESK_TRUSTED_USER_HEADER is set but IAJ_DESK_TRUSTED_PROXIES is not: the desk "
            "believes the header only from the reverse proxy's own address(es); list them"
        )
    if proxies and header is None:
        raise DeskConfigError(
            "IAJ_DESK_TRUSTED_PROXIES is set but IAJ_DESK_TRUSTED_USER_HEADER is not: name the "
            "header in which the proxy passes the signed-in user"
        )
    if (users is None or not users.names()) and header is None:
        where = (
            f"refusing to serve the desk on {settings.host}, which is not a loopback address, "
            "without sign-in"
            if not is_loopback(settings.host)
            else "the desk serves nothing without sign-in"
        )
        raise DeskConfigError(
            f"{where}: add a user (`iaj-adapter desk-user add NAME --users-file FILE` and "
            "IAJ_DESK_USERS_FILE=FILE) or trust your reverse proxy "
            "(IAJ_DESK_TRUSTED_USER_HEADER and IAJ_DESK_TRUSTED_PROXIES)"
        )
    return users


def desk_config(adapter: AdapterSettings, desk: DeskSettings) -> DeskConfig:
    """The desk's configuration from the settings; DeskConfigError if it may not start."""
    users = check_sign_in(desk)
    secret = desk.session_secret.get_secret_value() if desk.session_secret else None
    if secret is None:
        secret = secrets.token_urlsafe(48)
        _log.warning(
            "IAJ_DESK_SESSION_SECRET is not set: the session cookies are signed with a key made "
            "for this run (sign-ins end when the desk stops, as they do anyway)"
        )
    secure = desk.secure_cookies()
    if not secure and not is_loopback(desk.host):
        _log.warning(
            "IAJ_DESK_COOKIE_SECURE=false on a non-loopback address: serve the desk over HTTPS "
            "(e.g. behind your reverse proxy) and set it to true"
        )

    async def deliver(store: AdapterStore) -> int:
        return await deliver_once(adapter, store)

    return DeskConfig(
        partner=adapter.require_partner(),
        state_path=adapter.state_path(),
        policy=local_policy(adapter.policy_file),
        users=users,
        trusted_header=desk.trusted_user_header,
        trusted_proxies=desk.trusted_proxies,
        session_secret=secret,
        session_max_age=_seconds(desk.session_max_age_seconds),
        session_idle=_seconds(desk.session_idle_seconds),
        secure_cookies=secure,
        deliver=deliver if desk.deliver else None,
        delivery_timeout_seconds=desk.delivery_timeout_seconds,
    )


def _seconds(n: int) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def _uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """uvicorn for the desk. The client address is the TCP peer's (no proxy headers are
    believed: the trusted-proxy check needs the real one); no access log (its lines would
    name caseworkers' addresses); logging through our own configuration."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )


def desk_server(app: Any, host: str, port: int) -> uvicorn.Server:
    """The server of `iaj-adapter desk`: SIGINT and SIGTERM stop it (kafka_access.ops)."""
    return OpsServer(_uvicorn_config(app, host, port))


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside someone else's event loop: the signals stay theirs."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def running_desk(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `app` in this event loop until the block ends; yields its base URL. Port 0: a
    free port (the socket is bound before uvicorn starts, so there is no race for it)."""
    sock = _bound_socket(host, port)
    server = _EmbeddedServer(_uvicorn_config(app, host, port))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(_START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("the desk stopped while starting")
                await asyncio.sleep(0.01)
        yield _url(host, sock)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()


@contextlib.contextmanager
def desk_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` in a thread of its own (its own event loop) until the block ends; yields
    its base URL. For callers without an event loop, e.g. Playwright's sync API."""
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    url: list[str] = []
    failure: list[BaseException] = []

    async def serve() -> None:
        stopping = asyncio.Event()
        stop.append(stopping)
        try:
            async with running_desk(app, host, port) as base:
                url.append(base)
                ready.set()
                await stopping.wait()
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(),), name="iaj-desk", daemon=True
    )
    thread.start()
    try:
        if not ready.wait(_START_TIMEOUT):
            raise RuntimeError("the desk did not start in time")
        if failure:
            raise RuntimeError("the desk did not start") from failure[0]
        yield url[0]
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(_START_TIMEOUT)
        loop.close()


def serve_desk(config: DeskConfig, host: str, port: int) -> None:
    """Serve until stopped (Ctrl-C / SIGTERM): `iaj-adapter desk`."""
    asyncio.run(desk_server(create_desk_app(config), host, port).serve())
