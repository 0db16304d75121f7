"""How much one message may make us do: checked before any database work, and published in
the AsyncAPI documents and contracts/README.md so a partner's client can keep to them.

Generous for every real message (the largest question set is far below them), small enough
that one hostile message costs little: a bounded parse, a bounded number of items.
"""

from __future__ import annotations

__all__ = ["MAX_ANSWER_ITEMS", "MAX_JSON_DEPTH", "MAX_MESSAGE_BYTES"]

# The whole record value, in bytes. A question set for a youth with many family members stays
# well below 64 KiB.
MAX_MESSAGE_BYTES = 256 * 1024
# Nesting of JSON arrays and objects. The deepest real message (a round result: result,
# partners, outcomes, answer, detail) is 5 deep.
MAX_JSON_DEPTH = 12
# Answer items in one PartnerAnswer. The service also refuses more items than the question
# set it replies to has questions.
MAX_ANSWER_ITEMS = 500
