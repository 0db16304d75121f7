"""Rows of the hot path as plain objects with a model's attributes, built cheaply.

The hot path reads and writes rows with Core and only needs objects that carry values (the
message builders and checks read a row's attributes). A mapped class is the wrong carrier
there: its constructor runs an attribute event per column (about 70 µs per question on this
project's machine), every instance gets an instance state, and every attribute read goes
through an instrumented descriptor — a batch of answers reads a few thousand per round.

So `detached` builds an instance of a plain stand-in class per model: the same attribute
names (columns and relationships), None until set, read and written as ordinary attributes.
It is typed as the model, because the functions that read it read the model's attributes;
it is not one, so no session can take it (`session.add` refuses an unmapped object): what a
batch changes on it is written with Core, never flushed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from handlers.db.tables import Base

__all__ = ["detached"]

_M = TypeVar("_M", bound=Base)


def detached(model: type[_M], values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> _M:
    """`values`: a mapping, or (name, value) pairs (`zip(result.keys(), row)`, which is
    cheaper than a row's `_mapping`)."""
    instance = _stand_in(model)()
    instance.__dict__.update(values)
    return cast(_M, instance)


@functools.cache
def _stand_in(model: type[Base]) -> type:
    names = [attribute.key for attribute in model.__mapper__.attrs]
    unknown = object.__repr__

    def __repr__(self: object) -> str:  # noqa: N807 - the class's repr, as the model's would be
        return f"<detached {model.__name__} {self.__dict__.get('id', unknown(self))}>"

    return type(
        f"Detached{model.__name__}",
        (),
        {
            **dict.fromkeys(names),  # an attribute never set reads None, as on a new row
            "__doc__": f"Values of a {model.__name__}, not mapped (handlers.db.detached).",
            "__module__": __name__,
            "__repr__": __repr__,
        },
    )
