"""The desk's settings and commands: no serving without sign-in (and never on the network
without it), the users file, and the desk on a free port of this machine."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from contracts import Colour, Partner
from partner_adapters.cli import app as adapter_cli
from partner_adapters.desk import DeskConfigError, DeskSettings, Users, create_desk_app, serving
from partner_adapters.desk.serving import check_sign_in, desk_config, desk_in_thread, running_desk
from partner_adapters.desk.settings import is_loopback
from partner_adapters.settings import AdapterSettings
from partner_adapters.state import AdapterStore
from tests.support.desk import DESK_PASSWORD, DESK_USER, csrf_of, write_users_file
from tests.unit.partner_adapters.desk.conftest import Desk, MakeDesk

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_desk_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in (
        "IAJ_DESK_USERS_FILE", "IAJ_DESK_TRUSTED_USER_HEADER", "IAJ_DESK_TRUSTED_PROXIES",
        "IAJ_DESK_HOST", "IAJ_DESK_PORT", "IAJ_DESK_SESSION_SECRET", "IAJ_ADAPTER_SIGNING_KEY",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("desk.example.nl", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IAJ_DESK_HOST", "0.0.0.0")
    monkeypatch.setenv("IAJ_DESK_TRUSTED_USER_HEADER", "X-Remote-User")
    monkeypatch.setenv("IAJ_DESK_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/24,::1")
    monkeypatch.setenv("IAJ_DESK_USERS_FILE", str(tmp_path / "users.toml"))
    settings = DeskSettings()
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.5/32"),
        ipaddress.ip_network("10.1.0.0/24"),
        ipaddress.ip_network("::1/128"),
    )
    assert settings.secure_cookies() is True  # not loopback: cookies for HTTPS only
    assert DeskSettings(host="127.0.0.1").secure_cookies() is False
    monkeypatch.setenv("IAJ_DESK_TRUSTED_PROXIES", "not-an-address")
    with pytest.raises(ValueError, match="IAJ_DESK_TRUSTED_PROXIES"):
        DeskSettings()
    with pytest.raises(ValueError, match="header name"):
        DeskSettings(trusted_user_header="X Remote: User")


def test_every_desk_setting_is_in_the_adapters_readme() -> None:
    readme = (Path(__file__).resolve().parents[4] / "partner_adapters" / "README.md").read_text()
    missing = [
        f"IAJ_DESK_{name.upper()}"
        for name in DeskSettings.model_fields
        if f"`IAJ_DESK_{name.upper()}`" not in readme
    ]
    assert missing == []


def test_a_desk_on_the_network_without_sign_in_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeskConfigError, match="not a loopback address, without sign-in"):
        check_sign_in(DeskSettings(host="0.0.0.0"))
    with pytest.raises(DeskConfigError, match="serves nothing without sign-in"):
        check_sign_in(DeskSettings(host="127.0.0.1"))
    empty = write_users_file(tmp_path / "empty.toml", {})
    with pytest.raises(DeskConfigError, match="not a loopback address"):
        check_sign_in(DeskSettings(host="10.0.0.5", users_file=empty))
    with pytest.raises(DeskConfigError, match="does not exist"):
        check_sign_in(DeskSettings(users_file=tmp_path / "missing.toml"))
    with pytest.raises(DeskConfigError, match="IAJ_DESK_TRUSTED_PROXIES is not"):
        check_sign_in(DeskSettings(host="0.0.0.0", trusted_user_header="X-Remote-User"))
    with pytest.raises(DeskConfigError, match="IAJ_DESK_TRUSTED_USER_HEADER is not"):
        check_sign_in(DeskSettings(trusted_proxies=(ipaddress.ip_network("10.0.0.1"),)))
    users = write_users_file(tmp_path / "users.toml")
    assert check_sign_in(DeskSettings(host="0.0.0.0", users_file=users)) is not None
    proxied = DeskSettings(
        host="0.0.0.0",
        trusted_user_header="X-Remote-User",
        trusted_proxies=(ipaddress.ip_network("10.0.0.1"),),
    )
    assert check_sign_in(proxied) is None  # the proxy signs in; no users file needed


def test_the_desk_command_refuses_the_network_without_sign_in(tmp_path: Path) -> None:
    result = runner.invoke(
        adapter_cli,
        ["desk", "--partner", "cjg", "--state-db", str(tmp_path / "s.db"), "--host", "0.0.0.0",
         "--record-only"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not a loopback address" in " ".join(result.output.split())
    assert not (tmp_path / "s.db").exists()  # nothing opened, nothing served


def test_the_desk_command_wants_the_signing_key_unless_it_only_records(tmp_path: Path) -> None:
    users = write_users_file(tmp_path / "users.toml")
    result = runner.invoke(
        adapter_cli,
        ["desk", "--partner", "cjg", "--state-db", str(tmp_path / "s.db")],
        env={"IAJ_DESK_USERS_FILE": str(users)},
    )
    assert result.exit_code == 2
    assert "signing key" in " ".join(result.output.split())


def test_the_desk_command_serves_with_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = write_users_file(tmp_path / "users.toml")
    served: list[tuple[object, str, int]] = []
    monkeypatch.setattr(
        serving, "serve_desk", lambda config, host, port: served.append((config, host, port))
    )
    result = runner.invoke(
        adapter_cli,
        ["desk", "--partner", "cjg", "--state-db", str(tmp_path / "s.db"), "--port", "9999",
         "--record-only"],
        env={"IAJ_DESK_USERS_FILE": str(users)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [(config, host, port)] = served
    assert (host, port) == ("127.0.0.1", 9999)
    assert config.partner is Partner.CJG  # type: ignore[attr-defined]
    assert config.deliver is None  # type: ignore[attr-defined]
    assert config.users is not None  # type: ignore[attr-defined]


async def test_the_desk_delivers_as_the_cli_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[AdapterSettings, AdapterStore]] = []

    async def deliver_once(settings: AdapterSettings, store: AdapterStore) -> int:
        calls.append((settings, store))
        return 0

    monkeypatch.setattr(serving, "deliver_once", deliver_once)
    adapter = AdapterSettings(partner=Partner.CJG, state_db=tmp_path / "s.db")
    desk = DeskSettings(users_file=write_users_file(tmp_path / "users.toml"))
    config = desk_config(adapter, desk)
    assert config.deliver is not None
    store = await AdapterStore.open(tmp_path / "s.db", Partner.CJG)
    try:
        await config.deliver(store)
    finally:
        await store.close()
    assert calls == [(adapter, store)]
    assert len(config.session_secret) >= 32  # made for this run


def test_desk_user_add_remove_and_list(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "desk-users.toml"
    added = runner.invoke(
        adapter_cli,
        ["desk-user", "add", "j.jansen", "--users-file", str(path), "--password-stdin"],
        input="een-lang-synthetisch-wachtwoord\n",
    )
    assert added.exit_code == 0, added.output
    assert path.stat().st_mode & 0o777 == 0o600
    hashed = tomllib.loads(path.read_text())["users"]["j.jansen"]
    assert hashed.startswith("$argon2id$")
    assert "een-lang-synthetisch-wachtwoord" not in path.read_text()
    users = Users(path)
    assert users.verify("j.jansen", "een-lang-synthetisch-wachtwoord")
    assert not users.verify("j.jansen", "een-ander-wachtwoord")
    assert not users.verify("niemand", "een-lang-synthetisch-wachtwoord")

    prompted = runner.invoke(
        adapter_cli,
        ["desk-user", "add", "p.pietersen", "--users-file", str(path)],
        input="nog-een-wachtwoord-9\nnog-een-wachtwoord-9\n",
    )
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(adapter_cli, ["desk-user", "list", "--users-file", str(path)])
    assert listed.output.split() == ["j.jansen", "p.pietersen"]

    short = runner.invoke(
        adapter_cli,
        ["desk-user", "add", "k.kort", "--users-file", str(path), "--password-stdin"],
        input="kort\n",
    )
    assert short.exit_code == 2
    bad_name = runner.invoke(
        adapter_cli,
        ["desk-user", "add", "Naam Met Spatie", "--users-file", str(path), "--password-stdin"],
        input="een-lang-synthetisch-wachtwoord\n",
    )
    assert bad_name.exit_code == 2

    removed = runner.invoke(
        adapter_cli, ["desk-user", "remove", "j.jansen", "--users-file", str(path)]
    )
    assert removed.exit_code == 0
    assert Users(path).names() == {"p.pietersen"}
    again = runner.invoke(
        adapter_cli, ["desk-user", "remove", "j.jansen", "--users-file", str(path)]
    )
    assert again.exit_code == 2


def _signed_in_list(client: httpx2.Client) -> httpx2.Response:
    token = csrf_of(client.get("/aanmelden").text)
    return client.post(
        "/aanmelden",
        data={"csrf_token": token, "gebruikersnaam": DESK_USER, "wachtwoord": DESK_PASSWORD},
        follow_redirects=True,
    )


@pytest.fixture
def groen_desk(make_desk: MakeDesk) -> Desk:
    """Made before the test's event loop runs (recording the state file runs its own)."""
    return make_desk(Partner.LEERPLICHT, [Colour.GROEN])


async def test_the_desk_serves_on_a_free_port(groen_desk: Desk) -> None:
    desk = groen_desk
    async with running_desk(create_desk_app(desk.config)) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx2.AsyncClient(base_url=url) as client:
            assert (await client.get("/health/live")).text == "ok"
            assert (await client.get("/", follow_redirects=False)).status_code == 303


def test_the_desk_serves_from_a_thread_for_callers_without_an_event_loop(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk(Partner.LEERPLICHT, [Colour.GROEN, Colour.ROOD])
    with desk_in_thread(create_desk_app(desk.config)) as url, httpx2.Client(base_url=url) as client:
        listed = _signed_in_list(client)
        assert listed.status_code == 200
        assert "(2) Openstaande vragen" in listed.text
        assert "server" not in listed.headers  # no server banner
