"""The shared fixtures and hooks live in tests/support/ and load here as plugins."""

import pytest

pytest.register_assert_rewrite("tests.support")

pytest_plugins = ["tests.support.ci", "tests.support.databases", "tests.support.demo", "tests.support.browser"]
