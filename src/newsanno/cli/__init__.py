"""The command line: a thin adapter over the library. Each command parses options, calls one
library function and prints its result; user errors become one line and exit code 1."""

# No `from __future__ import annotations` here: it binds the name `annotations` in this module,
# and `from . import annotations` below would then not import the cli.annotations submodule.
import typer

from . import agreement, annotations, dataset, demo, project, server, tasks  # noqa: F401
from ._apps import GROUPS

app = typer.Typer(
    name="newsanno",
    help="Turn news articles into an annotated dataset: tasks → Label Studio → Hugging Face.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
demo.register(app)
