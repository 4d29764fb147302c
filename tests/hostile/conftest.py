import pytest
from django.core.cache import caches


@pytest.fixture(autouse=True)
def _fresh_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()
