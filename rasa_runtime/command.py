"""Where Rasa's environment is, and the command line that serves the model as `make run` does,
for the runner, the tests and the benchmarks.

Plain standard library: the project's environment (.venv) imports it to start Rasa in Rasa's
own environment. :data:`RASA_VENV` is the one place the code names that environment; the
Makefile's ``RASA_VENV`` is the other (``tests/rasa_runtime/test_command.py`` keeps them equal).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_VENV = ROOT / ".venv-rasa"
"""Rasa's environment (requirements-rasa.txt, Python 3.10), built by `make setup`."""
RASA_PYTHON = RASA_VENV / "bin" / "python"
RASA = RASA_VENV / "bin" / "rasa"


def serve_command(
    *,
    port: int,
    model: Path,
    token: str | None,
    endpoints: Path | None = None,
    credentials: Path | None = None,
    patched: bool = True,
) -> list[str]:
    """``rasa run`` with the HTTP API and the REST channel on loopback.

    Args:
        port: The port to listen on (127.0.0.1).
        model: The trained model.
        token: The HTTP API's secret: Rasa verifies ``Authorization: Bearer`` JWTs signed
            with it (``hotline.channels.rasa_auth``); no ``?token=`` query parameter is accepted.
            None leaves it off the command line (and so out of the process list):
            ``python -m rasa_runtime`` then adds ``RASA_TOKEN`` from the settings, as
            ``make run`` starts it. The plain ``rasa`` command needs it.
        endpoints: The endpoints file, if any.
        credentials: The credentials file (the REST channel), if any.
        patched: Through ``python -m rasa_runtime`` (the performance patches), as `make run`
            starts it; False gives the plain ``rasa`` command.
    """
    launcher = [str(RASA_PYTHON), "-m", "rasa_runtime"] if patched else [str(RASA)]
    if token is None and not patched:
        raise ValueError("the plain rasa command needs the API secret on its command line")
    args = [*launcher, "run", "--enable-api"]
    if token is not None:
        args += ["--jwt-secret", token, "--jwt-method", "HS256"]
    args += ["-i", "127.0.0.1", "-p", str(port), "-m", str(model)]
    if endpoints is not None:
        args += ["--endpoints", str(endpoints)]
    if credentials is not None:
        args += ["--credentials", str(credentials)]
    return args
