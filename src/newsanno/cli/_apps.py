"""The command groups. Each cli module adds its commands to one of these."""

from __future__ import annotations

import typer

tasks_app = typer.Typer(help="Build Label Studio tasks from seed articles.", no_args_is_help=True)
schema_app = typer.Typer(help="Generate the JSON Schemas from the ontology.", no_args_is_help=True)
server_app = typer.Typer(help="Run the embedded Label Studio server.", no_args_is_help=True)
project_app = typer.Typer(
    help="Create and fill Label Studio labeling projects.", no_args_is_help=True
)
annotations_app = typer.Typer(
    help="Import, validate, measure and adjudicate annotations.", no_args_is_help=True
)
review_app = typer.Typer(
    help="Send conflicts to a Label Studio review project.", no_args_is_help=True
)
dataset_app = typer.Typer(
    help="Publish the annotations as a Hugging Face dataset.", no_args_is_help=True
)

GROUPS = {
    "tasks": tasks_app,
    "schema": schema_app,
    "server": server_app,
    "project": project_app,
    "annotations": annotations_app,
    "review": review_app,
    "dataset": dataset_app,
}
