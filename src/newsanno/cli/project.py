"""`newsanno project create|list`: one Label Studio project per layer, filled idempotently."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from ..labelstudio import Client, load_projects, push_projects, resolve_connection
from ..layers import LAYERS, Layer
from ..workspace import Workspace
from ._apps import project_app
from ._common import ApiKeyOpt, UrlOpt, WorkspaceOpt, console, table, user_errors


@project_app.command("create")
def create_cmd(
    tasks: Annotated[
        Path | None, typer.Option("--tasks", help="Folder of tasks (default: tasks/).")
    ] = None,
    title: Annotated[
        str | None,
        typer.Option("--title", help="Title prefix: '<prefix> · entities' … (default: newsanno)."),
    ] = None,
    layer: Annotated[
        list[Layer] | None,
        typer.Option("--layer", help="Only this layer (repeat for several; default: all)."),
    ] = None,
    url: UrlOpt = None,
    api_key: ApiKeyOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Create one labeling project per layer and push the tasks it does not have yet.

    Example: newsanno project create --title "Syria news"
    """
    ws = Workspace(workspace)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with user_errors(), Progress(*columns, console=console, transient=True) as bar:
        bars: dict[Layer, TaskID] = {}

        def progress(layer: Layer, sent: int, total: int) -> None:
            if layer not in bars:
                bars[layer] = bar.add_task(f"pushing {layer} tasks", total=total)
            bar.update(bars[layer], completed=sent)

        summary = push_projects(
            ws,
            resolve_connection(ws, url, api_key),
            tasks or ws.tasks,
            title,
            layer or LAYERS,
            progress=progress,
        )
    rows = [
        (layer, pid, count, sent, status) for layer, pid, _, count, sent, status in summary.rows()
    ]
    console.print(
        table("Label Studio projects", ["layer", "project", "tasks", "sent now", ""], rows)
    )
    _print_urls((str(p.layer), p.project.url) for p in summary.projects)


@project_app.command("list")
def list_cmd(
    url: UrlOpt = None, api_key: ApiKeyOpt = None, workspace: WorkspaceOpt = Path(".")
) -> None:
    """Show the projects 'project create' made, with their task counts.

    Example: newsanno project list
    """
    ws = Workspace(workspace)
    with user_errors():
        projects = load_projects(ws)
        client = Client(resolve_connection(ws, url, api_key)) if projects else None
        rows = [
            (str(layer), p.id, p.title, client.task_count(p.id) if client else 0)
            for layer, p in projects.items()
        ]
    if not rows:
        console.print("No projects yet. Create them: newsanno project create")
        return
    console.print(table("Label Studio projects", ["layer", "project", "title", "tasks"], rows))
    _print_urls((str(layer), p.url) for layer, p in projects.items())


def _print_urls(urls: Iterable[tuple[str, str]]) -> None:
    """URLs on lines of their own: a table would cut them or fold them."""
    for layer, url in urls:
        console.print(f"  {layer:<9} {url}", soft_wrap=True)
