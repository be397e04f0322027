"""The `store` fixture: one empty store per test, for each backend in backends.BACKENDS."""

from __future__ import annotations

import pytest

from .backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    st = BACKENDS[request.param](tmp_path)
    st.clear()  # shared servers keep data between tests
    yield st
    st.close()
