"""`newsanno demo`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..demo import DEMO_TITLE, DemoSummary, run_demo
from ..server import DEFAULT_PORT, mask
from ..workspace import Workspace
from ._common import console, table, user_errors


def _print_summary(s: DemoSummary, ws: Workspace) -> None:
    console.print(
        table(
            "Tasks and projects",
            ["layer", "tasks", "sent now", "annotations submitted", "already there"],
            [
                (
                    str(p.layer),
                    p.task_count,
                    p.result.sent,
                    s.submitted.get(p.layer, 0),
                    s.already_there.get(p.layer, 0),
                )
                for p in s.pushed.projects
            ],
        )
    )
    for p in s.pushed.projects:
        console.print(f"  {p.layer} project {p.project.id}: {p.project.url}", soft_wrap=True)
    if s.imported:
        console.print(table("Imported", s.imported.COLUMNS, s.imported.rows()))
    if s.agreement:
        rows = []
        for layer, figures in s.agreement.items():
            shown = [
                f"{k}={v}"
                for k, v in figures.items()
                if k not in ("reason", "items") and v is not None
            ]
            why = "; ".join(sorted(set((figures.get("reason") or {}).values())))
            rows.append((layer, figures.get("items", 0), ", ".join(shown) or f"n/a ({why})"))
        console.print(table("Agreement", ["layer", "items (≥2 annotators)", "figures"], rows))
    if s.published:
        pub = s.published
        console.print(
            table(f"Dataset written to {pub.out}/", ["config", *pub.splits], pub.table_rows())
        )
    info = s.server.info
    console.print(
        f"\nLabel Studio runs at [bold]{info.url}[/] — log in as [bold]{info.username}[/] with "
        f"the password in {ws.server_file} (starts {mask(info.password)}).\n"
        f"Load the dataset: datasets.load_dataset('{ws.export.name}', 'entities')\n"
        "Stop the server with: newsanno server stop"
    )


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        port: Annotated[
            int, typer.Option(help="Port of the embedded Label Studio.")
        ] = DEFAULT_PORT,
        title: Annotated[str, typer.Option(help="Project title prefix.")] = DEMO_TITLE,
    ) -> None:
        """Run the whole pipeline on the seed articles, on the embedded Label Studio.

        Builds tasks, creates the projects, submits the seeds' gold annotations as an annotator,
        imports them back, adjudicates and publishes export/. Safe to run again.

        Example: newsanno demo
        """
        ws = Workspace.here()
        with user_errors():
            summary = run_demo(
                ws, port=port, title=title, step=lambda msg: console.print(f"[bold]→[/] {msg}")
            )
        _print_summary(summary, ws)
