"""Protocol revisions Orchestra speaks."""

HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_HANDSHAKE = HANDSHAKE_VERSIONS[-1]
# Streamable HTTP requests without an MCP-Protocol-Version header are taken as this
# revision (the header arrived with 2025-06-18; 2025-03-26 clients do not send it).
DEFAULT_HEADER_VERSION = "2025-03-26"
# The stateless revision. Until it is fully served, requests that name it get a fast
# -32022 listing the handshake revisions, so clients fall back to `initialize`.
MODERN_VERSIONS = ("2026-07-28",)


def structured_output(version: str) -> bool:
    """structuredContent and outputSchema exist from 2025-06-18 on."""
    return version >= "2025-06-18"
