"""The compiled-vs-eager fuzzer (tests/fuzz_compile.py), bounded and derandomized for CI."""

from __future__ import annotations

import fuzz_compile


def test_random_programs_compiled_equal_eager() -> None:
    before = dict(fuzz_compile.STATS)
    fuzz_compile.fuzz_test(max_examples=300, derandomize=True)()
    ran, compiled = (fuzz_compile.STATS[k] - before.get(k, 0) for k in ("programs", "compiled"))
    # most programs must run generated code, not fall back to eager (which would prove nothing)
    assert ran >= 300 and compiled >= 0.8 * ran, dict(fuzz_compile.STATS)


def test_random_training_steps_compiled_equal_eager() -> None:
    """The same programs with backward() and an in-place update of the leaves inside."""
    before = dict(fuzz_compile.STATS)
    fuzz_compile.fuzz_test(max_examples=150, derandomize=True, step=True)()
    ran, compiled = (fuzz_compile.STATS[k] - before.get(k, 0) for k in ("programs", "compiled"))
    assert ran >= 150 and compiled >= 0.7 * ran, dict(fuzz_compile.STATS)
