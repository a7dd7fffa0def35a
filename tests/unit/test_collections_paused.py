"""The collector is paused only for the block, and as it was after it, error or not."""

from __future__ import annotations

import gc

import pytest

from nps_engine.collections_paused import YOUNG, collections_paused


def _fail_inside() -> None:
    with collections_paused():
        assert gc.get_threshold()[0] == YOUNG
        assert gc.get_freeze_count() > 0
        raise RuntimeError


def test_paused_inside_and_restored_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        _fail_inside()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
