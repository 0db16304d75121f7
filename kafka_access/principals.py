"""Who is who on the Kafka cluster: the SASL user and the consumer group of every role.

The municipal service, every partner adapter, the deployment files (users, ACLs) and the
AsyncAPI documents all take these names from here, so they cannot drift apart.
"""

from __future__ import annotations

from contracts.enums import Partner

__all__ = [
    "BACKEND",
    "BACKEND_GROUP",
    "MONITOR",
    "MUNICIPAL",
    "MUNICIPAL_CLIENT",
    "MUNICIPAL_GROUP",
    "OPERATOR",
    "OPERATOR_GROUP",
    "RELAY_CLIENT",
    "STATUS_CLIENT",
    "TOPIC_ADMIN_CLIENT",
    "all_groups",
    "partner_client",
    "partner_group",
    "partner_user",
]

MUNICIPAL = "iaj-municipal"
BACKEND = "iaj-backend"
OPERATOR = "iaj-operator"
# Read-only: describes topics, consumer groups and their offsets (lag), reads no record.
MONITOR = "iaj-monitor"
MUNICIPAL_GROUP = "iaj-municipal"
BACKEND_GROUP = "iaj-backend"
OPERATOR_GROUP = "iaj-operator"

# Client ids (Kafka's `client.id`): what Kafka tools and broker logs show for a connection.
MUNICIPAL_CLIENT = "iaj-municipal"  # the service's consumer (FastStream)
RELAY_CLIENT = "iaj-municipal-relay"  # the service's outbox relay (producer)
TOPIC_ADMIN_CLIENT = "iaj-municipal-admin"  # creates the topics at start-up
STATUS_CLIENT = "iaj-status"  # `iaj status`: reads consumer lag


def partner_user(partner: Partner) -> str:
    return f"partner-{partner.value}"


def partner_group(partner: Partner) -> str:
    return f"iaj-adapter-{partner.value}"


def partner_client(partner: Partner) -> str:
    """The client id of a partner's adapter: names the partner in Kafka's tools."""
    return f"iaj-adapter-{partner.value}"


def all_groups() -> list[str]:
    """Every consumer group of the cluster."""
    return [MUNICIPAL_GROUP, BACKEND_GROUP, OPERATOR_GROUP, *(partner_group(p) for p in Partner)]
