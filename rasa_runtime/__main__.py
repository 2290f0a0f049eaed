"""``python -m rasa_runtime ARGS``: the ``rasa`` command with the performance patches applied."""

from __future__ import annotations

import sys

from rasa_runtime.patches import apply


def main() -> int:
    """Applies the patches, then hands the command line to Rasa's own entry point.

    With ``HOTLINE_ENV=production`` it first refuses development or short secrets (one line
    naming the variable, exit 2), before Rasa loads anything.
    """
    from hotline.config import ConfigError, check_production_secrets

    try:
        check_production_secrets()
    except ConfigError as exc:
        print(f"rasa_runtime: {exc}", file=sys.stderr)
        return 2
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
