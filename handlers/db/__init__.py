"""Persistence of the municipal service: tables, engine, unit of work, migrations."""
