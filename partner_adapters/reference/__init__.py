"""Reference lookups over synthetic data, so the whole system runs without any partner system.

Use `IAJ_ADAPTER_LOOKUP=partner_adapters.reference:ReferenceLookup` (the default) or
`partner_adapters.reference:OversharingLookup` to see the adapter refuse over-sharing.
"""

from partner_adapters.reference.cast import CAST, SyntheticPerson
from partner_adapters.reference.lookup import OversharingLookup, ReferenceLookup, shape_answer
from partner_adapters.reference.records import PartnerRecords, load_records

__all__ = [
    "CAST",
    "OversharingLookup",
    "PartnerRecords",
    "ReferenceLookup",
    "SyntheticPerson",
    "load_records",
    "shape_answer",
]
