"""``make run``'s process runner: every component under supervisord, restarted when it crashes.

- :mod:`runner.processes` is the one definition of the processes and their command lines;
- :mod:`runner.supervisor` turns it into a supervisord configuration;
- :mod:`runner.output` prints the processes' logs with a name prefix on each line;
- ``python -m runner [--scaled]`` starts it all (``make run``, ``make run-scaled``).
"""
