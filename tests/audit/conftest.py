from tests.stripe_fixtures import stripe_catalog, stripe_on, stripe_standin  # noqa: F401 (fixtures)
