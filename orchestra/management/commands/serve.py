"""Serve Orchestra: the web server (uvicorn, in this process), plus, in the embedded
default, a Celery worker and beat as child processes, started again if they die
(orchestra.supervisor) while the web server goes on serving.

With REDIS_URL set, production runs the worker and beat as their own processes
(see docker-compose.yml), so they are only started here when asked.
"""

from __future__ import annotations

import os
import signal
import sys
from argparse import BooleanOptionalAction
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from orchestra import supervisor, web_server


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
        children = supervisor.Supervisor(self.children()) if options["worker"] else None
        if children is not None:
            children.start()
            supervisor.current = children
        server = web_server.Server(web_server.config(host, port))
        # uvicorn re-raises the signal that stopped it once it is done; ours only
        # notes it, so the children are still stopped below.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: None)
        names = list(children.children) if children is not None else []
        self.stdout.write(
            self.style.SUCCESS(f"Orchestra is serving on http://{host}:{port} (MCP at /mcp)")
            + f"  [web{''.join(', ' + name for name in names)}]; Ctrl-C stops everything.",
        )
        if settings.APP_URL.startswith("https://") and not settings.FORWARDED_ALLOW_IPS:
            # TLS ends at a proxy, then; without it named, every client looks like the
            # proxy, and shares its failed-auth budget.
            self.stderr.write(
                "APP_URL is https but FORWARDED_ALLOW_IPS is none: X-Forwarded-For is believed from no one, "
                "so every client counts as the proxy. Set FORWARDED_ALLOW_IPS to your proxy's address."
            )
        self.stdout.flush()
        try:
            server.run()
        finally:
            if children is not None:
                children.stop()
        if not server.started:
            sys.exit(1)  # uvicorn has said why (the port is taken, say)

    def children(self) -> dict[str, supervisor.Child]:
        """The Celery worker and beat; a dead one is started again (orchestra.supervisor)."""
        celery = [sys.executable, "-m", "celery", "-A", "orchestra"]
        commands = {
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "1"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        }
        env = os.environ.copy()
        return {name: supervisor.Child(name, argv, env) for name, argv in commands.items()}
