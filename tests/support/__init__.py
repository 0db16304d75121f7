"""Helpers behind the shared fixtures in tests/conftest.py: choosing a Kafka-compatible
broker, preparing throw-away PostgreSQL databases and naming things uniquely."""
