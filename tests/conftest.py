"""Shared fixtures. `label_studio` is one real Label Studio process for the whole test session,
started and stopped through newsanno's own `server.py`.

A first start on an empty data dir runs ~230 migrations (35-60 s on 2 cores); later starts take
~5 s. So the first session migrates a data dir once, stops, and keeps a copy in pytest's cache
(`.pytest_cache/d/newsanno-label-studio/template-<version>/`, keyed by the label-studio
version); every session then starts its own server on a *copy* of that template in a temp dir,
so no two sessions share a database. Set NEWSANNO_TEST_FRESH_LS=1 to skip the template and
migrate from scratch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from newsanno.labelstudio import Client, Connection
from newsanno.server import free_port, start_server, stop_server
from newsanno.workspace import Workspace

# Tests never touch the network for Hugging Face, and never inherit a developer's Label Studio.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
for _var in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
    os.environ.pop(_var, None)


_TEMPLATE: dict[str, Path | None] = {}


@dataclass(frozen=True)
class LabelStudioServer:
    """The session's Label Studio: where it is and how to log in."""

    url: str
    api_key: str  # legacy token of the admin user
    username: str  # the admin's login e-mail
    password: str
    pid: int
    data_dir: Path
    workspace: Workspace  # a workspace whose .newsanno/server.json points at this server

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def personal_access_token(self) -> str:
        """The admin's personal access token (a JWT), created once per session: Label Studio
        shows it in full only when it is created."""
        if "pat" not in _PAT:
            req = urllib.request.Request(
                f"{self.url}/api/token/",
                method="POST",
                headers={"Authorization": f"Token {self.api_key}"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                _PAT["pat"] = json.loads(resp.read())["token"]
        return _PAT["pat"]

    def restart(self) -> LabelStudioServer:
        """Start it again after a test killed it (same port, data dir and credentials)."""
        result = start_server(self.workspace, port=self.port, data_dir=self.data_dir)
        return _server(result.info.pid, self.workspace, self.data_dir, result.info.url)


_PAT: dict[str, str] = {}


def _server(pid: int, workspace: Workspace, data_dir: Path, url: str) -> LabelStudioServer:
    raw = json.loads(workspace.server_file.read_text(encoding="utf-8"))
    return LabelStudioServer(
        url=url,
        api_key=raw["api_key"],
        username=raw["username"],
        password=raw["password"],
        pid=pid,
        data_dir=data_dir,
        workspace=workspace,
    )


def _template(cache_root: Path, scratch: Path) -> Path | None:
    """A migrated data dir with its admin user (built once, atomically), or None if disabled."""
    if os.environ.get("NEWSANNO_TEST_FRESH_LS"):
        return None
    target = cache_root / f"template-{version('label-studio')}"
    if (target / "label_studio.sqlite3").is_file():
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".ls-template-", dir=cache_root))
    ws = Workspace(scratch / "template-ws")
    try:
        start_server(ws, port=free_port(), data_dir=build / "data")
        stop_server(ws)
        (build / "data" / "label-studio.log").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # atomic; another session may have won the race
            os.rename(build / "data", target)
    finally:
        stop_server(ws)
        shutil.rmtree(build, ignore_errors=True)
    return target if target.is_dir() else None


@pytest.fixture(scope="session")
def label_studio(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabelStudioServer]:
    """One real Label Studio on a free loopback port for the whole session."""
    root = tmp_path_factory.mktemp("label-studio")
    data_dir = root / "data"
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    template = _template(Path(cache.mkdir("newsanno-label-studio")), root) if cache else None
    _TEMPLATE["path"] = template
    if template is not None:
        shutil.copytree(template, data_dir)
    workspace = Workspace(root / "workspace")
    result = start_server(workspace, port=free_port(), data_dir=data_dir)
    try:
        yield _server(result.info.pid, workspace, data_dir, result.info.url)
    finally:
        stop_server(workspace)


@pytest.fixture
def ls_workspace(label_studio: LabelStudioServer, tmp_path: Path) -> Workspace:
    """A fresh workspace of the test's own (own projects.json) pointing at the session server."""
    ws = Workspace(tmp_path / "workspace")
    ws.state.mkdir(parents=True, mode=0o700)
    shutil.copy2(label_studio.workspace.server_file, ws.server_file)
    os.chmod(ws.server_file, 0o600)
    return ws


@pytest.fixture
def unique_title(request: pytest.FixtureRequest) -> str:
    """A project title prefix no other test (or earlier session) uses; short enough for
    '<prefix> · entities' to fit Label Studio's 50-character titles."""
    return f"{request.node.name.removeprefix('test_')[:24]} {uuid.uuid4().hex[:8]}"


@pytest.fixture
def ls_client(label_studio: LabelStudioServer) -> Client:
    """newsanno's Label Studio client, logged in as the session admin (legacy token)."""
    return Client(Connection(label_studio.url, label_studio.api_key))


@pytest.fixture
def make_project(ls_client: Client, unique_title: str) -> Iterator[Callable[..., int]]:
    """`make_project(label_config, title=None) -> project id`: a fresh, empty project of the test's
    own (titled after the test unless given), deleted again when the test ends."""
    made: list[int] = []

    def make(label_config: str, title: str | None = None) -> int:
        project_id = ls_client.create_project(title or f"{unique_title} #{len(made)}", label_config)
        made.append(project_id)
        return project_id

    yield make
    for project_id in made:
        with contextlib.suppress(Exception):
            ls_client.delete_project(project_id)


@pytest.fixture
def ls_data_dir_template(label_studio: LabelStudioServer) -> Path | None:
    """The migrated data dir the session server was copied from (None with
    NEWSANNO_TEST_FRESH_LS=1): copy it to start another server in ~5 s instead of ~40 s."""
    return _TEMPLATE.get("path")
