"""`newsanno server start|status|stop`: the embedded Label Studio, run for real."""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import socket
import stat
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsanno.cli import app
from newsanno.server import free_port, health, mask, port_open, random_secret, server_status
from newsanno.workspace import Workspace

runner = CliRunner()


def api(url: str, key: str, path: str) -> object:
    req = urllib.request.Request(f"{url}{path}", headers={"Authorization": f"Token {key}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_random_secrets_are_letters_and_digits() -> None:
    secrets = {random_secret(24) for _ in range(200)}
    assert len(secrets) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", s) for s in secrets)


def test_mask_never_shows_a_secret_in_full() -> None:
    assert mask("Abcdefgh12345678") == "Abcd…"
    assert mask("short") == "…"


@pytest.mark.integration
def test_session_server_answers_with_its_legacy_token(label_studio) -> None:
    assert health(label_studio.url)
    assert server_status(label_studio.workspace).running
    assert stat.S_IMODE(label_studio.workspace.server_file.stat().st_mode) == 0o600
    me = api(label_studio.url, label_studio.api_key, "/api/current-user/whoami")
    assert isinstance(me, dict) and me["email"] == label_studio.username
    recorded = json.loads(label_studio.workspace.server_file.read_text())
    assert sorted(recorded) == ["api_key", "data_dir", "log", "password", "pid", "url", "username"]
    assert recorded["url"].startswith("http://127.0.0.1:")


@pytest.mark.integration
def test_session_server_listens_on_loopback_only(label_studio) -> None:
    """Bound to 127.0.0.1: another address of this machine does not reach it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:  # a UDP "connect" sends nothing; it only picks the outgoing interface
            probe.connect(("10.255.255.255", 1))
            other = probe.getsockname()[0]
        except OSError:
            other = "127.0.0.1"
    if other.startswith("127.") or other == "0.0.0.0":
        pytest.skip("this machine has no address but loopback")
    assert port_open(label_studio.port)
    assert not port_open(label_studio.port, host=other)


@pytest.mark.integration
def test_nobody_can_sign_up(label_studio) -> None:
    """Self sign-up is off: the sign-up form, posted with its CSRF token, creates no user."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{label_studio.url}/user/signup/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "the sign-up page has no CSRF token"
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token.group(1),
            "email": "intruder@example.org",
            "password": "Intruder-Passw0rd",
            "allow_newsletters": "false",
        }
    ).encode()
    req = urllib.request.Request(
        f"{label_studio.url}/user/signup/",
        data=form,
        headers={"Referer": f"{label_studio.url}/user/signup/"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(req, timeout=30)
    assert refused.value.code == 403
    users = api(label_studio.url, label_studio.api_key, "/api/users/")
    assert isinstance(users, list)
    assert "intruder@example.org" not in {u["email"] for u in users}


@pytest.mark.integration
def test_start_status_stop_through_the_cli(
    tmp_path: Path, ls_data_dir_template: Path | None
) -> None:
    """A second server of its own (the session one must keep running): start, a second start,
    status, stop, status again. The password is never printed in full, nor logged."""
    ws = tmp_path / "ws"
    data_dir = tmp_path / "data"
    if ls_data_dir_template is not None:  # migrated already: starts in ~5 s instead of ~40 s
        shutil.copytree(ls_data_dir_template, data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = ["-w", str(ws)]

    started = runner.invoke(
        app, ["server", "start", "--port", str(port), "--data-dir", str(data_dir), *base]
    )
    try:
        assert started.exit_code == 0, started.output
        info = json.loads((ws / ".newsanno" / "server.json").read_text())
        assert stat.S_IMODE((ws / ".newsanno" / "server.json").stat().st_mode) == 0o600
        assert info["url"] == url and health(url)
        assert started.output.startswith(f"Label Studio runs at {url} (PID {info['pid']}, ready")
        assert f"Log in as {info['username']} with password {mask(info['password'])}" in (
            started.output.replace("\n", " ")
        )
        assert info["password"] not in started.output
        assert info["api_key"] not in started.output
        log = Path(info["log"]).read_text()
        assert info["password"] not in log and info["api_key"] not in log
        me = api(url, info["api_key"], "/api/current-user/whoami")
        assert isinstance(me, dict) and me["email"] == info["username"]

        again = runner.invoke(app, ["server", "start", "--port", str(port), *base])
        assert again.exit_code == 0
        assert again.output.strip() == f"Label Studio already runs at {url} (PID {info['pid']})."

        status = runner.invoke(app, ["server", "status", *base])
        assert status.exit_code == 0
        assert status.output.strip() == (
            f"Label Studio runs at {url} (PID {info['pid']}, data in {data_dir})."
        )
    finally:
        stopped = runner.invoke(app, ["server", "stop", *base])
    assert stopped.exit_code == 0
    assert stopped.output.strip() == f"Stopped Label Studio at {url} (PID {info['pid']})."
    assert not port_open(port)

    status = runner.invoke(app, ["server", "status", *base])
    assert status.exit_code == 1
    assert status.stderr.strip() == (
        f"Label Studio is not running (last started at {url}). Start it: newsanno server start"
    )
    nothing = runner.invoke(app, ["server", "stop", *base])
    assert nothing.exit_code == 0
    assert nothing.output.strip() == "No embedded Label Studio was running."

    # Started again on the same data dir, it keeps the same credentials.
    restarted = runner.invoke(app, ["server", "start", "--port", str(port), *base, "--data-dir",
                                    str(data_dir)])  # fmt: skip
    try:
        assert restarted.exit_code == 0, restarted.output
        info2 = json.loads((ws / ".newsanno" / "server.json").read_text())
        assert (info2["api_key"], info2["password"]) == (info["api_key"], info["password"])
        assert api(url, info2["api_key"], "/api/current-user/whoami")
    finally:
        runner.invoke(app, ["server", "stop", *base])
    assert not port_open(port)


def test_start_without_the_server_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "label_studio", None)  # what an install without it looks like
    result = runner.invoke(app, ["server", "start", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        'Error: The Label Studio server is not installed. Run: pip install "newsanno[server]" '
        "(or point newsanno at your own server with LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY)."
    )
    assert not (tmp_path / ".newsanno" / "server.json").exists()


def test_start_on_a_port_taken_by_another_program(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["server", "start", "--port", str(port), "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: Port {port} on 127.0.0.1 is already in use by another program. "
        "Choose another one with --port N (for 'newsanno server start' or 'newsanno demo')."
    )


def test_status_without_a_server(tmp_path: Path) -> None:
    result = runner.invoke(app, ["server", "status", "-w", str(Workspace(tmp_path).root)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Label Studio is not running. Start it: newsanno server start"
