"""The partner desk: caseworkers answer the municipality's open questions in a browser.

A small web application (Starlette, Jinja2, served by uvicorn) that a partner runs beside its
adapter, over the adapter's own state file: `iaj-adapter desk --partner P`. Each question's
form has exactly the inputs its permitted shape allows; the server checks every post again
with `contracts.check_answer` and records an accepted answer exactly as `iaj-adapter answer`
does (partner_adapters.manual). See partner_adapters/README.md, "The desk".

Modules: `app` (routes), `auth` (sign-ins, the proxy header), `csrf`, `forms` (one form per
shape, and a post back to answer fields), `views` and `wording` (what the pages say, in
Dutch), `headers` (security headers), `users` (the users file), `settings` (IAJ_DESK_*),
`serving` (uvicorn, also on a free port for tests), `cli`.
"""

from partner_adapters.desk.app import DeskConfig, create_desk_app
from partner_adapters.desk.settings import DeskConfigError, DeskSettings
from partner_adapters.desk.users import Users

__all__ = ["DeskConfig", "DeskConfigError", "DeskSettings", "Users", "create_desk_app"]
