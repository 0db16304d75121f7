"""Who is who on the Kafka cluster: the SASL user and the consumer group of every role.

The municipal service, every partner adapter, the deployment files (users, ACLs) and the
AsyncAPI documents all take these names from here, so they cannot drift apart.
"""

from __future__ import annotations

from contracts.enums import Partner

__all__ = [
    "BACKEND",
    "BACKEND_GROUP",
    "MUNICIPAL",
    "MUNICIPAL_GROUP",
    "OPERATOR",
    "OPERATOR_GROUP",
    "partner_group",
    "partner_user",
]

MUNICIPAL = "iaj-municipal"
BACKEND = "iaj-backend"
OPERATOR = "iaj-operator"
MUNICIPAL_GROUP = "iaj-municipal"
BACKEND_GROUP = "iaj-backend"
OPERATOR_GROUP = "iaj-operator"


def partner_user(partner: Partner) -> str:
    return f"partner-{partner.value}"


def partner_group(partner: Partner) -> str:
    return f"iaj-adapter-{partner.value}"
