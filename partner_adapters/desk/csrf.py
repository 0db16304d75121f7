"""CSRF protection of every form: a random token kept in the session, in a hidden field.

The session is Starlette's signed cookie (itsdangerous), SameSite=Strict and HttpOnly, so
the token is bound to this browser's session: a POST counts only when its `csrf_token` field
equals the session's token (compared in constant time). A sign-in starts a new session and
with it a new token. (starlette-csrf reads the token from a header only, which a form
without JavaScript cannot send; asgi-csrf's cookie is not bound to the session.)
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection

__all__ = ["FIELD", "csrf_token", "csrf_valid"]

FIELD = "csrf_token"
_SESSION_KEY = "csrf"


def csrf_token(connection: HTTPConnection) -> str:
    """This session's token (made on first use)."""
    token = connection.session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        connection.session[_SESSION_KEY] = token
    return token


def csrf_valid(connection: HTTPConnection, form: FormData) -> bool:
    expected = connection.session.get(_SESSION_KEY)
    given = form.getlist(FIELD)
    if not isinstance(expected, str) or not expected or len(given) != 1:
        return False
    [submitted] = given
    return isinstance(submitted, str) and hmac.compare_digest(
        submitted.encode("utf-8"), expected.encode("utf-8")
    )
