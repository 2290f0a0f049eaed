"""``python -m rasa_runtime ARGS``: the ``rasa`` command with the performance patches applied."""

from __future__ import annotations

import os
import sys
import warnings

from rasa_runtime.patches import apply


def keep_deprecations_quiet() -> None:
    """Honours ``PYTHONWARNINGS=ignore::DeprecationWarning`` (set by ``scripts/run.sh``).

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
    """Applies the patches, then hands the command line to Rasa's own entry point."""
    keep_deprecations_quiet()
    try:
        applied = apply()
    except ValueError as exc:
        print(f"rasa_runtime: {exc}", file=sys.stderr)
        return 2
    print(f"rasa_runtime: patches applied: {', '.join(applied) or 'none'}", file=sys.stderr)
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    result = rasa_main()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
