"""`python -m broker.cli`: the `iaj` command."""

from broker.cli import app

app()
