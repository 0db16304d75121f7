"""How both sides reach Kafka: the users and consumer groups of every role, and the security
settings (SASL/SCRAM over TLS) turned into what FastStream and aiokafka take.

Shared by the municipal side (`broker`) and the partner adapter (`partner_adapters`), and
shipped in both distributions. Depends on `contracts` only.
"""
