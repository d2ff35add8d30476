"""The embedded server: start, status, stop."""

from __future__ import annotations

import stat
import urllib.request

import pytest

from newsanno.server import health, server_status

pytestmark = pytest.mark.integration


def test_session_server_answers(label_studio) -> None:
    assert health(label_studio.url)
    assert server_status(label_studio.workspace).running
    mode = stat.S_IMODE(label_studio.workspace.server_file.stat().st_mode)
    assert mode == 0o600
    req = urllib.request.Request(
        f"{label_studio.url}/api/current-user/whoami",
        headers={"Authorization": f"Token {label_studio.api_key}"},
    )
    with urllib.request.urlopen(req) as resp:
        assert b'"email":"' + label_studio.username.encode() in resp.read()
