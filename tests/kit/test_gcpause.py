from __future__ import annotations

import gc
import weakref

import pytest

from socialpulse.kit.gcpause import paused_gc


def test_the_collector_is_off_inside_and_back_after_nested_blocks() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_a_block_ending_inside_another_collects_the_cycles_it_left() -> None:
    class Node:
        other: object

    with paused_gc():
        with paused_gc():
            a, b = Node(), Node()
            a.other, b.other = b, a
            alive = weakref.ref(a)
            del a, b
        assert alive() is None  # collected, although the outer block keeps the collector off
        assert not gc.isenabled()


def test_an_exception_still_restores_the_collector() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
