"""The stock assistant: what ``rasa init`` creates and trains, generated into a temp dir.

Nothing of it is kept in the repository: every run generates it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.common import rasa_env, run_timed
from rasa_runtime.command import RASA


@dataclass(frozen=True)
class StockAssistant:
    """A generated ``rasa init`` project and its trained model."""

    project: Path
    model: Path
    init_seconds: float

    @property
    def config(self) -> Path:
        """Its config.yml (empty pipeline and policies: Rasa's defaults)."""
        return self.project / "config.yml"


def create(workdir: Path) -> StockAssistant:
    """Runs ``rasa init --no-prompt`` (which also trains) and times it.

    Raises:
        subprocess.CalledProcessError: When init or its training fails.
        FileNotFoundError: When no model was written.
    """
    project = workdir / "stock"
    project.mkdir(parents=True, exist_ok=True)
    seconds = run_timed(
        [str(RASA), "init", "--no-prompt", "--init-dir", str(project)],
        project,
        workdir / "stock_init.log",
        rasa_env(),
    )
    models = sorted((project / "models").glob("*.tar.gz"))
    if not models:
        raise FileNotFoundError(f"rasa init wrote no model under {project / 'models'}")
    return StockAssistant(project=project, model=models[-1], init_seconds=seconds)
