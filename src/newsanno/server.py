"""The embedded Label Studio: one `label-studio` process per workspace, bound to 127.0.0.1.

`start_server` runs it in the background (its own process session, its log in the data dir) and
returns once `/health` answers. On the first start of a data dir it creates an admin user with a
random password and a random API token; both are kept, mode 0600, in the data dir (the token only
ever applies to the data dir it was created with) and in `.newsanno/server.json`, which every
command that talks to Label Studio reads when no URL or key is given.
`stop_server` ends the process it recorded, by PID, and waits until the port is closed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import ServerError
from .workspace import Workspace, write_atomic

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
ADMIN_EMAIL = "admin@newsanno.example.org"
CREDENTIALS_FILE = "newsanno-admin.json"
LOG_FILE = "label-studio.log"
INSTALL_HINT = 'pip install "newsanno[server]"'
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class ServerInfo:
    """What `.newsanno/server.json` holds."""

    url: str
    api_key: str
    username: str
    password: str
    pid: int
    data_dir: str
    log: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@dataclass(frozen=True)
class StartResult:
    info: ServerInfo
    already_running: bool
    seconds: float


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    url: str | None
    pid: int | None
    data_dir: str | None
    username: str | None = None


def default_data_dir(workspace: Workspace) -> Path:
    return workspace.state / "label-studio"


def mask(secret: str, keep: int = 4) -> str:
    """`abcd…` — enough to tell two secrets apart, never the secret."""
    if len(secret) <= keep * 2:
        return "…"
    return secret[:keep] + "…"


def random_secret(length: int) -> str:
    """Letters and digits only: a leading '-' would be read by label-studio as an option."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


# ---- server.json -------------------------------------------------------------------------------


def read_server_file(workspace: Workspace) -> ServerInfo | None:
    path = workspace.server_file
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(
            url=raw["url"],
            api_key=raw["api_key"],
            username=raw["username"],
            password=raw["password"],
            pid=int(raw["pid"]),
            data_dir=raw.get("data_dir", str(default_data_dir(workspace))),
            log=raw.get("log", ""),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ServerError(
            f"{path} is not a server file newsanno wrote ({exc.__class__.__name__}: {exc}). "
            "Delete it and run 'newsanno server start'."
        ) from None


def _write_secret_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o600)


# ---- processes and ports -----------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:  # reap it if it is our own child (tests start it from the same process)
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_label_studio(pid: int) -> bool:
    """Guard against a recycled PID: only signal a process that is a label-studio server."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _pid_alive(pid)  # no /proc (macOS): trust the recorded PID
    return b"label-studio" in cmdline or b"label_studio" in cmdline


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def health(url: str, timeout: float = 2.0) -> bool:
    """True when Label Studio at `url` answers `/health` with status UP."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as resp:
            return bool(json.loads(resp.read() or b"{}").get("status") == "UP")
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _label_studio_command() -> list[str]:
    if importlib.util.find_spec("label_studio") is None:
        raise ServerError(
            f"The Label Studio server is not installed. Run: {INSTALL_HINT} "
            "(or point newsanno at your own server with LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY)."
        )
    run = "import sys; from label_studio.server import main; sys.exit(main())"
    return [sys.executable, "-c", run]


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in tail if line.strip())


# ---- start / stop / status ---------------------------------------------------------------------


def _credentials(data_dir: Path) -> tuple[dict[str, str], bool]:
    """The admin credentials of `data_dir`, created on first use; (creds, new)."""
    path = data_dir / CREDENTIALS_FILE
    if path.is_file():
        creds = json.loads(path.read_text(encoding="utf-8"))
        return {k: creds[k] for k in ("username", "password", "api_key")}, False
    if (data_dir / "label_studio.sqlite3").exists():
        raise ServerError(
            f"{data_dir} holds a Label Studio database but not the credentials newsanno made for "
            f"it ({CREDENTIALS_FILE}). Use another --data-dir, or set LABEL_STUDIO_URL and "
            "LABEL_STUDIO_API_KEY for a server you run yourself."
        )
    creds = {"username": ADMIN_EMAIL, "password": random_secret(24), "api_key": random_secret(40)}
    _write_secret_json(path, creds)
    return creds, True


def server_env(data_dir: Path, creds: dict[str, str]) -> dict[str, str]:
    """The environment of the label-studio process. Credentials go here, not on the command
    line, so that `ps` does not show them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "HEARTEX_"))}
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_USERNAME": creds["username"],
            "LABEL_STUDIO_PASSWORD": creds["password"],
            "LABEL_STUDIO_USER_TOKEN": creds["api_key"],
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_server(
    workspace: Workspace,
    port: int = DEFAULT_PORT,
    data_dir: Path | None = None,
    timeout: float = 300.0,
) -> StartResult:
    """Start the embedded Label Studio (or find the one running) and record it in server.json."""
    t0 = time.monotonic()
    current = read_server_file(workspace)
    if current and _pid_alive(current.pid) and health(current.url):
        return StartResult(current, already_running=True, seconds=time.monotonic() - t0)

    command = _label_studio_command()
    data_dir = Path(data_dir or default_data_dir(workspace)).absolute()
    if port_open(port):
        raise ServerError(
            f"Port {port} on {HOST} is already in use by another program. "
            "Choose another one with --port N (for 'newsanno server start' or 'newsanno demo')."
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    creds, _ = _credentials(data_dir)
    log = data_dir / LOG_FILE
    args = [
        *command,
        "start",
        "--no-browser",
        "--internal-host",
        HOST,
        "--port",
        str(port),
        "--enable-legacy-api-token",
    ]
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(log_fd, "ab") as log_fh:
        proc = subprocess.Popen(
            args,
            cwd=data_dir,
            env=server_env(data_dir, creds),
            stdin=subprocess.DEVNULL,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    info = ServerInfo(
        url=url,
        api_key=creds["api_key"],
        username=creds["username"],
        password=creds["password"],
        pid=proc.pid,
        data_dir=str(data_dir),
        log=str(log),
    )
    _write_secret_json(workspace.server_file, asdict(info))
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(
                f"Label Studio exited with code {proc.returncode} while starting. "
                f"See {log}: {_log_tail(log)}"
            )
        if health(url):
            return StartResult(info, already_running=False, seconds=time.monotonic() - t0)
        time.sleep(0.5)
    _terminate(proc.pid, port, timeout=30)
    raise ServerError(
        f"Label Studio did not answer {url}/health within {timeout:.0f} s and was stopped. "
        f"See {log}."
    )


def _terminate(pid: int, port: int, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)  # its own session: the group is the process (and any child)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _pid_alive(pid) and not port_open(port):
                return
            time.sleep(0.2)
    if port_open(port):
        raise ServerError(
            f"Label Studio (PID {pid}) did not release port {port}. Check it: ps {pid}"
        )


def stop_server(workspace: Workspace, timeout: float = 30.0) -> ServerStatus:
    """Stop the server recorded in server.json by its PID; wait until its port is closed.

    Returns the status before stopping (`running` False when there was nothing to stop).
    """
    info = read_server_file(workspace)
    if info is None:
        return ServerStatus(running=False, url=None, pid=None, data_dir=None)
    before = ServerStatus(True, info.url, info.pid, info.data_dir, info.username)
    if not (_pid_alive(info.pid) and _is_label_studio(info.pid)):
        return ServerStatus(False, info.url, info.pid, info.data_dir, info.username)
    _terminate(info.pid, info.port, timeout)
    return before


def server_status(workspace: Workspace) -> ServerStatus:
    info = read_server_file(workspace)
    if info is None:
        return ServerStatus(running=False, url=None, pid=None, data_dir=None)
    running = _pid_alive(info.pid) and health(info.url)
    return ServerStatus(running, info.url, info.pid, info.data_dir, info.username)
