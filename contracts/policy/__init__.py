"""The uitvraag policy as data: the versioned TOML file and its validating loader."""

from contracts.policy.loader import PolicyError, load_policy, load_policy_text
from contracts.policy.model import (
    AskedQuestion,
    Condition,
    DetailField,
    DetailFieldKind,
    LabelRule,
    Policy,
    PolicyQuestion,
    PolicyRef,
    TrackRule,
)

__all__ = [
    "AskedQuestion",
    "Condition",
    "DetailField",
    "DetailFieldKind",
    "LabelRule",
    "Policy",
    "PolicyError",
    "PolicyQuestion",
    "PolicyRef",
    "TrackRule",
    "haarlem_policy",
    "load_policy",
    "load_policy_text",
]


def haarlem_policy() -> Policy:
    """The Haarlem policy shipped with this package."""
    return load_policy()
