"""``python -m rasa_runtime ARGS``: the ``rasa`` command with the performance patches applied
(:mod:`rasa_runtime.patches`; they refuse any Rasa but the pinned one)."""

from __future__ import annotations

import os
import sys
import warnings

from rasa_runtime.patches import apply

JWT_FLAGS = ("--jwt-secret", "--auth-token")


def with_api_secret(argv: list[str], secret: str) -> list[str]:
    """``rasa run`` arguments with ``--jwt-secret`` from the settings when none is given.

    The Procfiles leave the secret off the command line, so it never shows in the process
    list; Rasa then verifies ``Authorization: Bearer`` JWTs signed with ``RASA_TOKEN``
    (``hotline/channels/rasa_auth.py``). An explicit ``--jwt-secret`` or ``--auth-token`` wins.
    """
    if argv[1:2] != ["run"] or any(a.split("=", 1)[0] in JWT_FLAGS for a in argv):
        return argv
    return [*argv, "--jwt-secret", secret, "--jwt-method", "HS256"]


def keep_deprecations_quiet() -> None:
    """Honours ``PYTHONWARNINGS=ignore::DeprecationWarning`` (``runner.processes.QUIET_LOGS``).

    Importing sanic runs ``filterwarnings("once", category=DeprecationWarning)``, which goes
    in front of the environment's filter and brings back a screen of warnings from Rasa's
    pinned libraries. The ignore filter is put back in front once sanic is imported.
    """
    if "ignore::DeprecationWarning" not in os.environ.get("PYTHONWARNINGS", ""):
        return
    import sanic  # noqa: F401  (its import-time filter must come first, to be overridden)

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # matplotlib builds its font parser on import with pyparsing's old names; its warnings are
    # also UserWarnings, which Rasa later shows "once": build it now, while they are ignored.
    import matplotlib.fontconfig_pattern  # noqa: F401


def main() -> int:
    """Masks personal data in the logs, applies the patches, then hands the command line to
    Rasa's own entry point.

    With ``HOTLINE_ENV=production`` it first refuses development or short secrets (one line
    naming the variable, exit 2), before Rasa loads anything.
    """
    keep_deprecations_quiet()
    from hotline.config import ConfigError, check_production_secrets, load_settings
    from hotline.privacy import logmask  # standard library only: importable in the Rasa environment

    logmask.install()
    try:
        check_production_secrets()
    except ConfigError as exc:
        print(f"rasa_runtime: {exc}", file=sys.stderr)
        return 2
    try:
        applied = apply()
    except ValueError as exc:  # an unknown HOTLINE_RASA_PATCHES name, or another Rasa version
        print(f"rasa_runtime: {exc}", file=sys.stderr)
        return 2
    print(f"rasa_runtime: patches applied: {', '.join(applied) or 'none'}", file=sys.stderr)
    from rasa.__main__ import main as rasa_main

    sys.argv = with_api_secret(["rasa", *sys.argv[1:]], load_settings().rasa_token)
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
