"""What every command shares: the consoles, the error edge, the connection options."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import NewsannoError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a NewsannoError into one line on stderr and exit code 1; bugs keep their traceback."""
    try:
        yield
    except NewsannoError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True, markup=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="right" if i else "left")
    for row in rows:
        t.add_row(*(str(c) for c in row))
    return t


WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="Workspace folder (seeds/, schema/, tasks/ …).")
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="LABEL_STUDIO_URL", help="Label Studio URL (default: the embedded server)."
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="LABEL_STUDIO_API_KEY",
        help="Label Studio legacy token or personal access token.",
        show_default=False,
    ),
]
