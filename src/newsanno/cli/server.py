"""`newsanno server start|stop|status`: the embedded Label Studio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..server import DEFAULT_PORT, mask, server_status, start_server, stop_server
from ..workspace import Workspace
from ._apps import server_app
from ._common import WorkspaceOpt, console, err_console, user_errors


@server_app.command("start")
def start_cmd(
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1.")] = DEFAULT_PORT,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Database and media (default: .newsanno/label-studio/)."),
    ] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Start the embedded Label Studio in the background and wait until it answers.

    Example: newsanno server start --port 8080
    """
    ws = Workspace(workspace)
    with user_errors():
        result = start_server(ws, port=port, data_dir=data_dir)
    info = result.info
    if result.already_running:
        _say(f"Label Studio already runs at {info.url} (PID {info.pid}).")
        return
    _say(
        f"Label Studio runs at {info.url} (PID {info.pid}, ready in {result.seconds:.1f} s).\n"
        f"Log in as {info.username} with password {mask(info.password)} "
        f"(in full in {ws.server_file}). Log: {info.log}"
    )


@server_app.command("status")
def status_cmd(workspace: WorkspaceOpt = Path(".")) -> None:
    """Say whether the embedded Label Studio answers, and where (exit 1 if it does not).

    Example: newsanno server status
    """
    with user_errors():
        status = server_status(Workspace(workspace))
    if status.running:
        _say(f"Label Studio runs at {status.url} (PID {status.pid}, data in {status.data_dir}).")
        return
    where = f" (last started at {status.url})" if status.url else ""
    _say(f"Label Studio is not running{where}. Start it: newsanno server start", err=True)
    raise typer.Exit(1)


@server_app.command("stop")
def stop_cmd(workspace: WorkspaceOpt = Path(".")) -> None:
    """Stop the embedded Label Studio and wait until its port is closed.

    Example: newsanno server stop
    """
    with user_errors():
        stopped = stop_server(Workspace(workspace))
    if stopped.running:
        _say(f"Stopped Label Studio at {stopped.url} (PID {stopped.pid}).")
    else:
        _say("No embedded Label Studio was running.")


def _say(text: str, err: bool = False) -> None:
    """One line, never wrapped (URLs and paths stay whole), no markup (paths may hold '[')."""
    (err_console if err else console).print(text, soft_wrap=True, markup=False)
