"""Serve Orchestra: Daphne, plus (in the embedded default) a Celery worker and beat.

With REDIS_URL set, production runs the worker and beat as their own processes
(see docker-compose.yml), so they are only started here when asked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from argparse import BooleanOptionalAction
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Orchestra with Daphne (and a Celery worker and beat in the embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--worker",
            action=BooleanOptionalAction,
            default=not settings.REDIS_URL,
            help="Also run a Celery worker and beat (default: on unless REDIS_URL is set).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        celery = [sys.executable, "-m", "celery", "-A", "orchestra"]
        commands: dict[str, list[str]] = {
            "daphne": [
                *[sys.executable, "-m", "daphne", "-b", options["host"], "-p", str(options["port"])],
                "orchestra.asgi:application",
            ]
        }
        if options["worker"]:
            commands["worker"] = [*celery, "worker", "--loglevel", "INFO", "--concurrency", "1"]
            commands["beat"] = [
                *celery,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ]
        processes: dict[str, subprocess.Popen[bytes]] = {}
        for name, argv in commands.items():
            processes[name] = subprocess.Popen(argv, env=os.environ.copy())
        self.stdout.write(
            self.style.SUCCESS(f"Orchestra is serving on http://{options['host']}:{options['port']} (MCP at /mcp)")
            + f"  [{', '.join(processes)}]; Ctrl-C stops everything."
        )
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with {process.returncode}; stopping the others")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        if exit_code:
            sys.exit(exit_code)
