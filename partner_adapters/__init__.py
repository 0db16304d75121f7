"""What a partner runs on its own premises; depends on `contracts` only.

A partner writes one class, a `Lookup` (see `partner_adapters.lookup`), and runs
`iaj-adapter run --partner <code>`. Everything else (reading the question topic, checking
every answer against its question's shape before it leaves, remembering what was answered,
manual answering) is this package. See README.md next to this file.
"""

from partner_adapters.errors import LookupUnavailable
from partner_adapters.lookup import Lookup, LookupAnswer, LookupRequest, LookupSubject

__all__ = ["Lookup", "LookupAnswer", "LookupRequest", "LookupSubject", "LookupUnavailable"]
