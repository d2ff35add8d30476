"""A pip-installed newsanno (a built wheel, not the editable source tree) finds its ontology."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_built_wheel_ships_the_ontology_and_builds_tasks(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("newsanno-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # A workspace with seeds only: no schema/ folder, so the packaged ontology must be used.
    work = tmp_path / "work"
    shutil.copytree(REPO / "seeds", work / "seeds")
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import newsanno.ontology as o;"
            "print(o.packaged_ontology_path()); print(o.Ontology.load().entity_labels)",
        ],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    packaged = Path(probe.stdout.splitlines()[0])
    assert packaged.is_relative_to(site), probe.stdout
    assert "PER" in probe.stdout.splitlines()[1]
    run = subprocess.run(
        [sys.executable, "-m", "newsanno", "tasks", "build"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    built = {p.name: p.read_bytes() for p in (work / "tasks").iterdir()}
    # Same ontology (the packaged copy of schema/ontology.json) → same configs as the repository's.
    for name in ("entities.xml", "events.xml", "stance.xml"):
        assert built[name] == (REPO / "tasks" / name).read_bytes()
