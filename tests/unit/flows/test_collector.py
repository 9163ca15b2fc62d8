"""The sync tunes Python's garbage collector once per process (flows.pipeline.tune_collector).

Run in a child interpreter: the collector's settings are process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _child(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_tune_collector__freezes_once_and_raises_the_young_threshold():
    out = _child("""
        import gc
        from flows.pipeline import tune_collector
        gc.set_threshold(700, 10, 10)
        tune_collector()
        frozen = gc.get_freeze_count()
        later = [[i] for i in range(1000)]  # objects born after the first sync started
        tune_collector()
        print(frozen > 1000, gc.get_freeze_count() == frozen, gc.get_threshold())
    """)
    assert out == "True True (5000, 10, 10)"


def test_tune_collector__leaves_a_higher_threshold_and_a_disabled_collector_alone():
    out = _child("""
        import gc
        from flows.pipeline import tune_collector
        gc.set_threshold(20000, 10, 10)
        tune_collector()
        print(gc.get_threshold())
    """)
    assert out == "(20000, 10, 10)"
    out = _child("""
        import gc
        from flows.pipeline import tune_collector
        gc.set_threshold(0)
        tune_collector()
        print(gc.get_threshold()[0])
    """)
    assert out == "0"


def test_give_back_memory__with_collect__frees_garbage_in_reference_cycles():
    """What the sync's own pulling left in cycles goes when the pull process takes over."""
    out = _child("""
        import gc, weakref
        from flows.pipeline import give_back_memory
        gc.disable()  # as between the tuned collector's rare full collections
        class Node: pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        give_back_memory()
        kept = alive() is not None
        give_back_memory(collect=True)
        print(kept, alive() is None)
    """)
    assert out == "True True"
