"""The API test world (tenants, members, readings, one token per role), reused for fuzzing."""

from tests.api.conftest import api_settings, world  # noqa: F401  # fixtures, used by name
