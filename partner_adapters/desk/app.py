"""The desk's web application (Starlette, Jinja2 templates): sign-in, the list of pending
question sets, a question set's page with one form per open question, and answering.

An answer takes the path of `iaj-adapter answer`: `find_open_question`, then
`answer_manually` (the local policy and `contracts.check_answer`, signed when sent, recorded
in the outbox with the question marked answered in one transaction, answered once), then
delivery as the CLI does it (`kafka_io.deliver_once`). Before that the desk checks the post
itself with the same two functions, so that a refused post records nothing but a line in the
desk's log; the caseworker sees the reason in Dutch (HTTP 422).

Nothing with personal data is served without a user (GET: to the sign-in page; other
methods: 401); every view of the list or a question set, and every answer, is logged in the
state file (`desk_log`) with the user, never content. Python log lines carry no names, no
answers and no user names.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from contracts import AnswerRefused, Partner, Policy, check_answer
from contracts.messages import utc_now
from partner_adapters.desk.auth import SESSION_ID, Authenticator, SignIns, Throttle
from partner_adapters.desk.csrf import FIELD as CSRF_FIELD
from partner_adapters.desk.csrf import csrf_token, csrf_valid
from partner_adapters.desk.forms import FormRefused, answer_from_form, form_ids
from partner_adapters.desk.headers import BodyLimit, SecurityHeaders
from partner_adapters.desk.settings import IpNetwork
from partner_adapters.desk.users import Users
from partner_adapters.desk.views import (
    FormError,
    list_rows,
    recent_rows,
    set_href,
    set_view,
)
from partner_adapters.desk.wording import policy_refusal_text, refusal_text
from partner_adapters.errors import QuestionNotOpen
from partner_adapters.manual import ManualAnswerRefused, answer_manually, find_open_question
from partner_adapters.policy_guard import shipped_policy
from partner_adapters.state import AdapterStore, Refusal
from partner_adapters.state.desk import DeskAction, DeskEvent, SetDetail
from partner_adapters.views import effective_question

__all__ = ["Deliver", "DeskConfig", "create_desk_app"]

_log = logging.getLogger("partner_adapters.desk")

Deliver = Callable[[AdapterStore], Awaitable[int]]
"""Send what is recorded and unsent (as `iaj-adapter answer` does after recording):
`lambda store: kafka_io.deliver_once(settings, store)` in production."""

SIGN_IN_PATH = "/aanmelden"
SIGN_OUT_PATH = "/afmelden"
LIVE_PATH = "/health/live"
RECENT = dt.timedelta(days=7)
_FLASH = "flash"
_DASH = "\N{EN DASH}"
_SEEN = "seen"


@dataclass(frozen=True)
class DeskConfig:
    """Everything the desk application needs; `desk.serving.desk_config` builds it from the
    settings, tests build it directly."""

    partner: Partner
    state_path: Path
    policy: Policy = field(default_factory=shipped_policy)
    users: Users | None = None
    trusted_header: str | None = None
    trusted_proxies: tuple[IpNetwork, ...] = ()
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    session_max_age: dt.timedelta = dt.timedelta(hours=8)
    session_idle: dt.timedelta = dt.timedelta(minutes=30)
    secure_cookies: bool = False
    deliver: Deliver | None = None  # None: record only; the running adapter sends it
    delivery_timeout_seconds: float = 15.0
    clock: Callable[[], dt.datetime] = utc_now

    @property
    def session_cookie(self) -> str:
        # __Host-: the browser keeps it only from a secure origin, for this host, path /.
        return "__Host-iaj-balie" if self.secure_cookies else "iaj-balie"


class _Desk:
    """The request handlers, over one open state file."""

    def __init__(self, config: DeskConfig) -> None:
        self.config = config
        self.templates = Jinja2Templates(
            env=Environment(
                loader=PackageLoader("partner_adapters.desk", "templates"),
                autoescape=select_autoescape(default=True),
                trim_blocks=True,
                lstrip_blocks=True,
            )
        )
        self.sign_ins = SignIns(config.session_max_age, config.session_idle, config.clock)
        self.throttle = Throttle(config.clock)
        self.auth = Authenticator(
            self.sign_ins, config.users, config.trusted_header, config.trusted_proxies
        )
        self._store: AdapterStore | None = None
        self._delivering = asyncio.Lock()

    @property
    def store(self) -> AdapterStore:
        assert self._store is not None, "the desk's lifespan opens the state file"
        return self._store

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._store = await AdapterStore.open(self.config.state_path, self.config.partner)
        try:
            yield
        finally:
            await self._store.close()
            self._store = None

    # -- helpers ------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        user: str | None,
        status_code: int = 200,
    ) -> Response:
        context = {
            "user": user,
            "csrf_field": CSRF_FIELD,
            "csrf_token": csrf_token(request),
            "organisation": self.config.partner.organisation,
            "sign_in_form": self.config.users is not None,
            **context,
        }
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)

    def message(
        self,
        request: Request,
        status_code: int,
        title: str,
        text: str,
        *,
        user: str | None,
        back: str | None = "/",
    ) -> Response:
        return self.render(
            request,
            "message.html",
            {"title": title, "text": text, "back": back, "status": status_code},
            user=user,
            status_code=status_code,
        )

    def current_user(self, request: Request) -> str | None:
        user = self.auth.user(request)
        if user is not None and SESSION_ID in request.session:
            # Touch the session: its cookie is issued again, so the idle limit slides.
            request.session[_SEEN] = int(self.config.clock().timestamp())
        return user

    def unauthenticated(self, request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(SIGN_IN_PATH, status_code=303)
        return self.message(
            request,
            401,
            "Niet aangemeld",
            "U bent niet (meer) aangemeld. Meld u opnieuw aan; er is niets vastgelegd.",
            user=None,
            back=SIGN_IN_PATH,
        )

    async def log(
        self,
        user: str,
        action: DeskAction,
        question_set_id: uuid.UUID | None = None,
        question_id: uuid.UUID | None = None,
        detail: str | None = None,
    ) -> None:
        await self.store.record_desk_event(
            DeskEvent(self.config.clock(), user, action, question_set_id, question_id, detail)
        )

    async def form(self, request: Request) -> FormData | None:
        try:
            return await request.form(max_files=0, max_fields=200, max_part_size=64 * 1024)
        except (MultiPartException, HTTPException):
            return None

    # -- sign-in ------------------------------------------------------------------------------

    async def sign_in_page(self, request: Request) -> Response:
        if self.current_user(request) is not None:
            return RedirectResponse("/", status_code=303)
        return self._sign_in(request, None, 200 if self.config.users is not None else 401)

    def _sign_in(self, request: Request, error: str | None, status_code: int) -> Response:
        return self.render(
            request,
            "sign_in.html",
            {"title": "Aanmelden", "error": error},
            user=None,
            status_code=status_code,
        )

    async def sign_in(self, request: Request) -> Response:
        users = self.config.users
        form = await self.form(request)
        if users is None:
            return self._sign_in(request, None, 401)
        if form is None or not csrf_valid(request, form):
            return self._sign_in(request, "Het formulier was verlopen. Probeer het opnieuw.", 403)
        name = form.get("gebruikersnaam")
        password = form.get("wachtwoord")
        if not isinstance(name, str) or not isinstance(password, str) or not name.strip():
            return self._sign_in(request, "Vul uw gebruikersnaam en wachtwoord in.", 401)
        name = name.strip()
        if self.throttle.blocked(name):
            return self._sign_in(
                request,
                "Te veel mislukte pogingen met deze gebruikersnaam. Probeer het over een "
                "kwartier opnieuw, of vraag uw beheerder om hulp.",
                429,
            )
        if not await asyncio.to_thread(users.verify, name, password):
            self.throttle.failed(name)
            return self._sign_in(request, "Onbekende gebruikersnaam of onjuist wachtwoord.", 401)
        self.throttle.succeeded(name)
        self.sign_ins.end(request.session.get(SESSION_ID))
        request.session.clear()  # a new session, and with it a new CSRF token
        request.session[SESSION_ID] = self.sign_ins.start(name)
        csrf_token(request)
        await self.log(name, DeskAction.SIGNED_IN)
        return RedirectResponse("/", status_code=303)

    async def _signed_in_post(
        self, request: Request, expired: str
    ) -> tuple[str, FormData] | Response:
        """The user and the form of a POST from a signed-in user with a valid CSRF token;
        otherwise the response that refuses it (`expired`: what the 403 page says)."""
        user = self.current_user(request)
        if user is None:
            return self.unauthenticated(request)
        form = await self.form(request)
        if form is None or not csrf_valid(request, form):
            return self.message(request, 403, "Formulier verlopen", expired, user=user)
        return user, form

    async def sign_out(self, request: Request) -> Response:
        posted = await self._signed_in_post(
            request, "Het formulier was verlopen. Laad de pagina opnieuw en probeer het nog eens."
        )
        if isinstance(posted, Response):
            return posted
        user, _ = posted
        self.sign_ins.end(request.session.get(SESSION_ID))
        request.session.clear()
        await self.log(user, DeskAction.SIGNED_OUT)
        return RedirectResponse(SIGN_IN_PATH, status_code=303)

    # -- pages --------------------------------------------------------------------------------

    async def live(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def no_icon(self, request: Request) -> Response:
        # Browsers ask every site for /favicon.ico by themselves: "no content" instead of a
        # 404 (an error in the browser's console and a failed request on every page).
        return Response(status_code=204)

    async def pending(self, request: Request) -> Response:
        user = self.current_user(request)
        if user is None:
            return self.unauthenticated(request)
        now = self.config.clock()
        rows = list_rows(await self.store.desk_pending_sets(now), now)
        recent = recent_rows(await self.store.desk_recent_answers(now - RECENT))
        await self.log(user, DeskAction.VIEWED_LIST)
        title = f"({len(rows)}) Openstaande vragen {_DASH} IAJ-balie"
        return self.render(
            request, "pending.html", {"title": title, "rows": rows, "recent": recent}, user=user
        )

    async def question_set(self, request: Request) -> Response:
        user = self.current_user(request)
        if user is None:
            return self.unauthenticated(request)
        set_id: uuid.UUID = request.path_params["set_id"]
        detail = await self.store.desk_question_set(set_id)
        if detail is None:
            return self._not_found(request, user)
        flash = request.session.pop(_FLASH, None)
        shown = None
        if isinstance(flash, dict) and flash.get("set") == str(set_id):
            shown = (uuid.UUID(str(flash.get("question"))), str(flash.get("text")))
        await self.log(user, DeskAction.VIEWED_QUESTION_SET, set_id)
        return self._set_page(request, user, detail, flash=shown)

    def _set_page(
        self,
        request: Request,
        user: str,
        detail: SetDetail,
        *,
        error: FormError | None = None,
        flash: tuple[uuid.UUID, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        now = self.config.clock()
        view = set_view(
            detail, self.config.partner, self.config.policy, now, error=error, flash=flash
        )
        title = f"Vragenset ({view.colour_label.lower()}) {_DASH} IAJ-balie"
        return self.render(
            request,
            "question_set.html",
            {"title": title, "set": view, "error": error},
            user=user,
            status_code=status_code,
        )

    def _not_found(self, request: Request, user: str | None) -> Response:
        return self.message(
            request,
            404,
            "Niet gevonden",
            "Deze pagina bestaat niet (meer). Vragensets verdwijnen van de balie als hun "
            "termijn voorbij is.",
            user=user,
        )

    # -- answering ----------------------------------------------------------------------------

    async def answer(self, request: Request) -> Response:
        posted = await self._signed_in_post(
            request,
            "Het formulier was verlopen of ongeldig; er is niets vastgelegd of verstuurd. "
            "Laad de pagina opnieuw en vul het antwoord nog eens in.",
        )
        if isinstance(posted, Response):
            return posted
        user, form = posted
        set_id: uuid.UUID = request.path_params["set_id"]
        question_id: uuid.UUID = request.path_params["question_id"]
        detail = await self.store.desk_question_set(set_id)
        item = None
        if detail is not None:
            item = next(
                (q for q in detail.questions if q.question.question_id == question_id), None
            )
        if detail is None or item is None:
            return self._not_found(request, user)
        if not item.open:
            await self.log(user, DeskAction.ALREADY_ANSWERED, set_id, question_id)
            return self._already_answered(request, user, set_id)
        now = self.config.clock()
        try:
            open_question = await find_open_question(
                self.store, str(question_id), question_set_ref=str(set_id), now=now
            )
        except QuestionNotOpen:
            return self.message(
                request,
                409,
                "Termijn verstreken",
                "De termijn van deze vraag is verstreken; er is niets vastgelegd of verstuurd.",
                user=user,
                back=set_href(set_id),
            )
        scoped = effective_question(open_question, self.config.partner, self.config.policy)

        async def refuse(reason: str, field: str | None, text: str) -> Response:
            on = f" {field}" if field else ""
            await self.log(user, DeskAction.ANSWER_REFUSED, set_id, question_id, reason + on)
            error = FormError(question_id, f"Niet verstuurd. {text}", form)
            return self._set_page(request, user, detail, error=error, status_code=422)

        if isinstance(scoped, Refusal):
            return await refuse(scoped.reason, scoped.field, policy_refusal_text(scoped.reason))
        try:
            given = answer_from_form(form, scoped)
            check_answer(scoped, {**given, "question_id": str(question_id)}, open_question.colour)
        except FormRefused as refused:
            text = refusal_text(refused.reason, refused.field, scoped)
            return await refuse(refused.reason.value, refused.field, text)
        except AnswerRefused as refused:
            text = refusal_text(refused.reason, refused.field, scoped, _given(given, refused.field))
            return await refuse(refused.reason.value, refused.field, text)
        try:
            message = await answer_manually(
                self.store, open_question, given, policy=self.config.policy, now=now
            )
        except ManualAnswerRefused as refused:  # checked above already: not expected
            reason = refused.refusal
            text = refusal_text(reason.reason, reason.field, scoped)
            return await refuse(reason.reason, reason.field, text)
        except QuestionNotOpen:  # answered meanwhile (another desk user, the CLI)
            await self.log(user, DeskAction.ALREADY_ANSWERED, set_id, question_id)
            return self._already_answered(request, user, set_id)
        await self.log(user, DeskAction.ANSWERED, set_id, question_id, str(message.message_id))
        _log.info(
            "desk answer %s to question set %s recorded",
            message.message_id,
            set_id,
            extra={
                "event": "desk_answer_recorded",
                "partner": self.config.partner.value,
                "round_id": str(message.round_id),
                "correlation_id": str(message.correlation_id),
                "message_id": str(message.message_id),
                "question_set_id": str(set_id),
            },
        )
        flash = await self._deliver()
        request.session[_FLASH] = {"set": str(set_id), "question": str(question_id), "text": flash}
        anchor = form_ids([q.question for q in detail.questions])[
            [q.question.question_id for q in detail.questions].index(question_id)
        ]
        return RedirectResponse(f"{set_href(set_id)}#{anchor}", status_code=303)

    def _already_answered(self, request: Request, user: str, set_id: uuid.UUID) -> Response:
        return self.message(
            request,
            409,
            "Al beantwoord",
            "Deze vraag is al beantwoord; er is niets opnieuw vastgelegd of verstuurd. "
            "Op de pagina van de vragenset ziet u of het antwoord is verzonden.",
            user=user,
            back=set_href(set_id),
        )

    async def _deliver(self) -> str:
        """Send what is recorded, as `iaj-adapter answer` does; what to tell the caseworker."""
        deliver = self.config.deliver
        if deliver is None:
            return "Uw antwoord is vastgelegd. De adapter verstuurt het binnen enkele seconden."
        try:
            async with self._delivering:
                await asyncio.wait_for(
                    deliver(self.store), timeout=self.config.delivery_timeout_seconds
                )
        except Exception as exc:  # the desk's boundary: keep the record, say what happened
            _log.warning(
                "desk answer recorded, not sent yet (%s): the running adapter sends it",
                type(exc).__name__,
                extra={"event": "desk_delivery_failed", "error": type(exc).__name__},
            )
            return (
                "Uw antwoord is vastgelegd, maar nog niet verzonden: de verbinding met de "
                "gemeente lukte nu niet. De adapter verstuurt het zodra dat weer kan."
            )
        return "Uw antwoord is verzonden."

    async def http_error(self, request: Request, exc: Exception) -> Response:
        user = self.auth.user(request)
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return self.message(
                request, 405, "Niet toegestaan", "Dit kan op deze pagina niet.", user=user
            )
        return self._not_found(request, user)


def _given(given: dict[str, Any], field: str | None) -> object:
    """The value the refusal is about (for the length of an over-long text)."""
    if field is None:
        return None
    if field.startswith("detail."):
        detail = given.get("detail")
        return detail.get(field.removeprefix("detail.")) if isinstance(detail, dict) else None
    return given.get(field)


def create_desk_app(config: DeskConfig) -> Starlette:
    """The desk as an ASGI application; its lifespan opens the state file."""
    desk = _Desk(config)
    uuid_set = "/vragensets/{set_id:uuid}"
    routes = [
        Route(LIVE_PATH, desk.live, methods=["GET"]),
        Route("/favicon.ico", desk.no_icon, methods=["GET"]),
        Route(SIGN_IN_PATH, desk.sign_in_page, methods=["GET"]),
        Route(SIGN_IN_PATH, desk.sign_in, methods=["POST"]),
        Route(SIGN_OUT_PATH, desk.sign_out, methods=["POST"]),
        Route("/", desk.pending, methods=["GET"]),
        Route(uuid_set, desk.question_set, methods=["GET"]),
        Route(f"{uuid_set}/vragen/{{question_id:uuid}}", desk.answer, methods=["POST"]),
        Mount(
            "/static", StaticFiles(packages=[("partner_adapters.desk", "static")]), name="static"
        ),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(BodyLimit),
        Middleware(
            SessionMiddleware,
            secret_key=config.session_secret,
            session_cookie=config.session_cookie,
            max_age=int(config.session_idle.total_seconds()),
            same_site="strict",
            https_only=config.secure_cookies,
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=desk.lifespan,
        exception_handlers={404: desk.http_error, 405: desk.http_error},
    )
