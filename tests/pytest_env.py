"""Loaded with `-p tests.pytest_env` (pyproject addopts) before pytest-django reads
the settings: the test environment's defaults."""

import os

os.environ.setdefault("MCP_TEST_TOOLS", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
