"""`python -m partner_adapters`: the `iaj-adapter` command."""

from partner_adapters.cli import app

app()
