import pytest

from .engine import new_engine_stack


@pytest.fixture
def engine_stack(tmp_path):
    return new_engine_stack(tmp_path)
