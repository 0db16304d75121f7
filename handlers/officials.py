"""The officials who may act on the focus list, from one TOML file.

The convenant names one responsible official who manages the file (l.323-327); every
processing is logged with the official who did it. So an action needs a real actor: one of
the officials listed here. The file looks like:

    [[official]]
    name = "regisseur.noord"          # what the processing log records
    role = "regisseur"
    [[official]]
    name = "functionaris.iaj"
    role = "verantwoordelijke"
    responsible = true                # exactly one

Actions the service takes itself (deadlines, retention, the age limit) and what partners
send are logged under names that cannot be an official's.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from handlers.errors import ServiceError, UnknownActor

__all__ = ["Official", "Officials", "load_officials"]

# The service logs its own actions as `iaj-broker`, `iaj-service (...)`, and what a partner
# sent as `partner:<code>`: no official may be mistaken for them.
_SYSTEM_PREFIXES = ("iaj-", "partner")


class Official(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,99}$")
    role: str = Field(min_length=1, max_length=60)
    responsible: bool = False

    @model_validator(mode="after")
    def _not_a_system_name(self) -> Official:
        if self.name.startswith(_SYSTEM_PREFIXES):
            raise ValueError(
                f"names beginning with {' or '.join(map(repr, _SYSTEM_PREFIXES))} are the "
                "service's own actors in the processing log"
            )
        return self


class Officials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    official: tuple[Official, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_responsible_and_unique(self) -> Officials:
        names = [o.name for o in self.official]
        if len(names) != len(set(names)):
            raise ValueError("an official is listed twice")
        if sum(o.responsible for o in self.official) != 1:
            raise ValueError(
                "mark exactly one official `responsible = true`: the official of the "
                "municipality who manages the file (convenant §3.4)"
            )
        return self

    @property
    def responsible(self) -> Official:
        return next(o for o in self.official if o.responsible)

    def require(self, actor: str | None) -> Official:
        """The official named `actor`, or UnknownActor saying what to do."""
        name = (actor or "").strip()
        if not name:
            raise UnknownActor(
                "say who does this: --actor NAME or IAJ_ACTOR; the processing log records "
                "every action with the official who took it"
            )
        for official in self.official:
            if official.name == name:
                return official
        raise UnknownActor(
            f"{name!r} is not an official of the officials file; ask the responsible official "
            f"({self.responsible.name}) to add you"
        )


def load_officials(path: Path | None) -> Officials:
    """Read the officials file; ServiceError naming the file when it is missing or invalid."""
    if path is None:
        raise UnknownActor(
            "no officials are configured: set IAJ_OFFICIALS_FILE to the TOML file listing "
            "the officials who may act (see docs/production.md)"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServiceError(f"cannot read the officials file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ServiceError(f"{path}: not a TOML file ({exc})") from None
    try:
        return Officials.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ServiceError(f"{path}: {where + ': ' if where else ''}{err['msg']}") from None
