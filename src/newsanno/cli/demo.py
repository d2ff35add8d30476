"""`newsanno demo` (placeholder until the demo issue lands)."""

from __future__ import annotations

import typer

from ._common import console


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd() -> None:
        """Run the whole pipeline on the seed article (not yet available).

        Example: newsanno demo
        """
        console.print("newsanno demo: not yet — it lands with the demo issue.")
