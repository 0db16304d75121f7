"""Load a partner's lookup from a dotted path `package.module:attribute`."""

from __future__ import annotations

import importlib
import inspect

from partner_adapters.errors import LookupLoadError
from partner_adapters.lookup import Lookup

__all__ = ["DEFAULT_LOOKUP", "load_lookup"]

DEFAULT_LOOKUP = "partner_adapters.reference:ReferenceLookup"


def load_lookup(path: str) -> Lookup:
    """Import `module:attr` and return a Lookup.

    `attr` may be a Lookup instance, or a class or function that takes no arguments and
    returns one (so a class is instantiated once, at start-up).
    """
    module_name, sep, attr_path = path.partition(":")
    if not sep or not module_name or not attr_path:
        raise LookupLoadError(
            f"lookup {path!r} is not a dotted path of the form 'package.module:attribute'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupLoadError(
            f"lookup {path!r}: cannot import module {module_name!r}: {exc}"
        ) from exc
    target: object = module
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise LookupLoadError(
                f"lookup {path!r}: module {module_name!r} has no attribute {attr_path!r}"
            ) from None
    candidate = _instantiate(target, path) if _is_factory(target) else target
    _require_lookup(candidate, path)
    return candidate  # type: ignore[return-value]  # checked by _require_lookup


def _is_factory(target: object) -> bool:
    # A class, or a plain function; not an instance that happens to be callable.
    return inspect.isclass(target) or inspect.isfunction(target)


def _instantiate(factory: object, path: str) -> object:
    assert callable(factory)
    try:
        return factory()
    except TypeError as exc:
        raise LookupLoadError(
            f"lookup {path!r} must be callable without arguments to build the lookup: {exc}"
        ) from exc


def _require_lookup(candidate: object, path: str) -> None:
    method = getattr(candidate, "lookup", None)
    if not isinstance(candidate, Lookup) or method is None:
        raise LookupLoadError(
            f"lookup {path!r} gave a {type(candidate).__name__}, which has no "
            "'async def lookup(self, request)' method (see partner_adapters.lookup.Lookup)"
        )
    if not inspect.iscoroutinefunction(method):
        raise LookupLoadError(
            f"lookup {path!r}: {type(candidate).__name__}.lookup must be 'async def'"
        )
