"""The desk's users: a TOML file the partner's administrator keeps, with Argon2id hashes.

    # IAJ-balie users (iaj-adapter desk-user add NAME)
    [users]
    "j.jansen" = "$argon2id$v=19$m=65536,t=3,p=4$..."

`iaj-adapter desk-user add NAME` writes it (the file is created readable by its owner only);
the desk reads it again when it changes, so adding or removing a user needs no restart.
A user removed from the file is signed out at their next request.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "UserNameError",
    "Users",
    "UsersFileError",
    "add_user",
    "hash_password",
    "read_users",
    "remove_user",
    "valid_user_name",
]

MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HEADER = "# IAJ-balie users: `iaj-adapter desk-user add NAME`. Argon2id hashes only.\n"


class UsersFileError(ValueError):
    """The users file cannot be read or is not in the expected form."""


class UserNameError(ValueError):
    """Not a usable user name."""


def valid_user_name(name: str) -> bool:
    """Letters, digits and `._@-`, at most 64; starting with a letter or digit."""
    return bool(_NAME.match(name))


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi's default: Argon2id, RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@cache
def _dummy_hash() -> str:
    return hash_password("not a password of anyone")


def read_users(path: Path) -> dict[str, str]:
    """Name -> hash, as in the file; UsersFileError if it is unreadable or malformed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsersFileError(f"the users file {path} does not exist") from None
    except OSError as exc:
        raise UsersFileError(f"the users file {path} cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"the users file {path} is not valid TOML ({exc})") from None
    table = data.get("users", {})
    if not isinstance(table, dict) or set(data) - {"users"}:
        raise UsersFileError(f"the users file {path} must hold one [users] table only")
    users: dict[str, str] = {}
    for name, hashed in table.items():
        if not valid_user_name(name) or not isinstance(hashed, str):
            raise UsersFileError(f'the users file {path} has an entry that is not NAME = "HASH"')
        if not hashed.startswith("$argon2"):
            raise UsersFileError(f"the users file {path} has a user whose hash is not Argon2")
        users[name] = hashed
    return users


def _write(path: Path, users: dict[str, str]) -> None:
    lines = [_HEADER, "[users]\n", *(f'"{n}" = "{h}"\n' for n, h in sorted(users.items()))]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(lines)
    os.replace(temporary, path)


def add_user(path: Path, name: str, password: str) -> bool:
    """Add `name`, or set a new password; True when the user is new."""
    if not valid_user_name(name):
        raise UserNameError(
            f"{name!r} is not a usable user name: letters, digits and ._@- only, at most 64"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    users = read_users(path) if path.exists() else {}
    new = name not in users
    users[name] = hash_password(password)
    _write(path, users)
    return new


def remove_user(path: Path, name: str) -> bool:
    """Remove `name`; False when there was no such user."""
    users = read_users(path)
    if users.pop(name, None) is None:
        return False
    _write(path, users)
    return True


@dataclass
class Users:
    """The users file as the desk uses it: read again whenever it changed on disk."""

    path: Path
    _users: dict[str, str] = field(default_factory=dict)
    _stamp: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self._reload()

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise UsersFileError(f"the users file {self.path} does not exist") from None
        except OSError as exc:
            raise UsersFileError(
                f"the users file {self.path} cannot be read ({exc.strerror})"
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._users = read_users(self.path)
            self._stamp = stamp

    def _current(self) -> dict[str, str]:
        try:
            self._reload()
        except UsersFileError:
            return {}  # unreadable now (being replaced, or removed): nobody is let in
        return self._users

    def names(self) -> frozenset[str]:
        return frozenset(self._current())

    def has(self, name: str) -> bool:
        return name in self._current()

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s. Blocking (Argon2 is slow on purpose): call it in a
        thread. An unknown name costs as much as a wrong password."""
        hashed = self._current().get(name)
        try:
            return _hasher().verify(hashed or _dummy_hash(), password) and hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
