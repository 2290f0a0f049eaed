"""``python -m runner [--scaled]``: start the hotline under supervisord (``make run``).

Prints where to open the product, starts supervisord in the foreground with the processes of
:mod:`runner.processes`, and prints their logs with a name prefix. Ctrl-C (SIGINT), SIGTERM or
SIGHUP stop supervisord, which stops every process (SIGTERM, SIGKILL after 20 s) before this
command exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

from runner.output import Follower
from runner.processes import VENV_BIN, bot_enabled, prepare_environment, processes
from runner.supervisor import Paths, write_config

POLL_SECONDS = 0.2
READY_CHECK_SECONDS = 2.0


def banner(scaled: bool, paths: Paths) -> str:
    """Where to open the product, what runs, and how to look at the processes."""
    env = os.environ
    console = f"http://127.0.0.1:{env['CONSOLE_PORT']}"
    if not bot_enabled(env):
        bot = "not started (set TELEGRAM_BOT_TOKEN to start it)"
    else:
        webhook = env.get("TELEGRAM_WEBHOOK_URL")
        bot = f"started ({f'webhook {webhook}' if webhook else 'polling'})"
    ctl = f"{VENV_BIN / 'supervisorctl'} -c {paths.config}"
    return f"""
  Community service hotline{" (scaled)" if scaled else ""}
  Operator console:    {console}/
  Resident web chat:   {console}/chat
  Rasa server:         {env["RASA_URL"]}/  (REST channel: /webhooks/rest/webhook)
  Action server:       {env["ACTION_SERVER_URL"]}/health
  Telegram bot:        {bot}
  Case database:       {env.get("HOTLINE_DATABASE_URL", "")}
  Logs:                {paths.log_dir}/
  Processes:           {ctl} status
  Create an operator:  .venv/bin/hotline user add NAME --role operator   (password on stdin)
  Stop everything:     Ctrl-C
"""


class Runner:
    """supervisord in the foreground, its processes' logs on the console."""

    def __init__(self, scaled: bool) -> None:
        prepare_environment(os.environ)
        self.scaled = scaled
        self.paths = Paths(var_dir=Path(os.environ["HOTLINE_VAR_DIR"]))
        self.processes = processes(os.environ, scaled=scaled)
        files = {p.name: self.paths.process_log(p.name) for p in self.processes}
        files["reaper"] = self.paths.process_log("reaper")
        self.follower = Follower({"supervisor": self.paths.main_log, **files})
        self.stopping = False
        self.supervisord: subprocess.Popen[bytes] | None = None

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: ask supervisord to stop everything (once)."""
        if not self.stopping and self.supervisord is not None:
            self.stopping = True
            self.follower.say("runner", f"stopping everything ({signal.Signals(signum).name})")
            self.supervisord.send_signal(signal.SIGTERM)

    def _ready(self) -> bool:
        """Whether Rasa (model loaded), the action server and the console answer.

        The console is only connected to: an HTTP request would add an access-log line every
        time it is asked.
        """
        env = os.environ
        try:
            with socket.create_connection(("127.0.0.1", int(env["CONSOLE_PORT"])), timeout=1):
                pass
            return all(
                httpx.get(url, timeout=1).status_code == 200
                for url in (f"{env['RASA_URL']}/", f"{env['ACTION_SERVER_URL']}/health")
            )
        except (OSError, httpx.HTTPError):
            return False

    def run(self) -> int:
        """Runs until supervisord exits; returns the exit status for the shell."""
        config = write_config(self.processes, self.paths)
        print(banner(self.scaled, self.paths), flush=True)
        self.supervisord = subprocess.Popen(
            [str(VENV_BIN / "supervisord"), "-c", str(config)], stdin=subprocess.DEVNULL
        )
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._stop)
        ready, next_check = False, time.monotonic()
        while self.supervisord.poll() is None:
            self.follower.poll()
            if not ready and not self.stopping and time.monotonic() >= next_check:
                ready = self._ready()
                next_check = time.monotonic() + READY_CHECK_SECONDS
                if ready:
                    console = f"http://127.0.0.1:{os.environ['CONSOLE_PORT']}"
                    message = f"ready: open {console}/ (web chat: {console}/chat)"
                    self.follower.say("runner", message)
            time.sleep(POLL_SECONDS)
        self.follower.drain()
        code = self.supervisord.returncode
        if self.stopping:
            self.follower.say("runner", "stopped")
            return 0
        self.follower.say("runner", f"supervisord exited with status {code}")
        return code or 1


def main(argv: list[str] | None = None) -> int:
    """Parses the arguments and runs; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__)
    parser.add_argument(
        "--scaled", action="store_true", help="PostgreSQL, Redis and 2 Rasa workers"
    )
    args = parser.parse_args(argv)
    return Runner(scaled=args.scaled).run()


if __name__ == "__main__":
    sys.exit(main())
