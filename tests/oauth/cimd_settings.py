"""Settings for a live server in the CIMD tests: Orchestra's own, with the toolkit's
SSRF-hardened metadata fetcher swapped for one that reaches a local stand-in (the
real one refuses loopback addresses, as it should). Never used outside tests."""

from orchestra.settings import *  # noqa: F403
from orchestra.settings import OAUTH2_PROVIDER

OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "CIMD_METADATA_FETCHER": "tests.oauth.cimd_standin.StandInFetcher"}
