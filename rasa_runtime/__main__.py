"""``python -m rasa_runtime ARGS``: the ``rasa`` command with the performance patches applied."""

from __future__ import annotations

import sys

from rasa_runtime.patches import apply


def main() -> int:
    """Masks personal data in the logs, applies the patches, then hands the command line to
    Rasa's own entry point."""
    from hotline import logmask  # standard library only: importable in the Rasa environment

    logmask.install()
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
