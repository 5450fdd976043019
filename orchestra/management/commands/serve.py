"""Serve Orchestra: the web server (uvicorn, in this process), plus, in the embedded
default, a Celery worker and beat as child processes.

With REDIS_URL set, production runs the worker and beat as their own processes
(see docker-compose.yml), so they are only started here when asked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from argparse import BooleanOptionalAction
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from orchestra import web_server


class Command(BaseCommand):
    help = "Serve Orchestra with uvicorn (and a Celery worker and beat in the embedded default)."
    # The web server imports the whole application anyway; checks add nothing here.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT, help="Default: PORT (8000).")
        parser.add_argument(
            "--worker",
            action=BooleanOptionalAction,
            default=not settings.REDIS_URL,
            help="Also run a Celery worker and beat (default: on unless REDIS_URL is set).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        web_server.follow_port(port)
        children = self.start_children() if options["worker"] else {}
        server = web_server.Server(web_server.config(host, port))
        exited: list[str] = []

        def watch(name: str, process: subprocess.Popen[bytes]) -> None:
            # A dead worker or beat would leave the server quietly half-working.
            process.wait()
            if not server.should_exit:
                exited.append(name)
                server.should_exit = True

        for name, process in children.items():
            threading.Thread(target=watch, args=(name, process), daemon=True).start()
        # uvicorn re-raises the signal that stopped it once it is done; ours only
        # notes it, so the children are still stopped below.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: None)
        self.stdout.write(
            self.style.SUCCESS(f"Orchestra is serving on http://{host}:{port} (MCP at /mcp)")
            + f"  [web{''.join(', ' + name for name in children)}]; Ctrl-C stops everything.",
        )
        self.stdout.flush()
        server.run()
        self.stop_children(children)
        if exited:
            name = exited[0]
            self.stderr.write(f"{name} exited with {children[name].returncode}; stopped the others")
            sys.exit(children[name].returncode or 1)
        if not server.started:
            sys.exit(1)  # uvicorn has said why (the port is taken, say)

    def start_children(self) -> dict[str, subprocess.Popen[bytes]]:
        celery = [sys.executable, "-m", "celery", "-A", "orchestra"]
        commands = {
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "1"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        return {name: subprocess.Popen(argv, env=os.environ.copy()) for name, argv in commands.items()}

    def stop_children(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        for process in children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in children.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
