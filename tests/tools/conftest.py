from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _github_for_every_tool(github: Any) -> Any:
    """The GitHub tools are product tools like the others: every world connects GitHub
    (through the local stand-in) and a repository."""
    return github
