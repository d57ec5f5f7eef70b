"""Random programs (tests/fuzz.py's generator), compiled with chainrule.compile vs eager.

Each program is compiled once and called three times with different leaf values (the
first call traces; the others run generated code, and must not reuse anything baked from
the first): every value, ``requires_grad`` flag and leaf gradient of a weighted sum must
equal eager chainrule's exactly (NaN positions included, float64 1e-12), and a program
eager refuses must be refused compiled with the same exception class.  The programs use
the patterns real code does: in-place writes into values earlier ops read, views of
views, values reused across branches, ``no_grad`` and ``detach``.

With ``outside=True`` the program reads its leaves from a dict in its closure, which each
call fills with new tensors (every other one not requiring grad) before calling: the compiled
code must read the new ones where the function finds them, never the traced call's (see
``guards.Place``; tensors the program writes or differentiates make it retrace instead).

``pytest tests/test_fuzz_compile.py`` runs a bounded, derandomized sample;
``python tests/fuzz_compile.py --programs N`` runs N fresh programs and prints the counts.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import Any

import fuzz
import numpy as np
from hypothesis import given, note, settings
from ops_table import F

import chainrule as cr
from chainrule.compile import codegen

STATS: collections.Counter = collections.Counter()
_SHIFTS = (0.0, 0.37, -0.61)


def _backward(vals: list) -> None:
    """A weighted sum of the values that require grad, backpropagated into the leaves."""
    terms = [
        (v * cr.tensor(fuzz._weights(i, tuple(v.shape)))).sum() for i, v in enumerate(vals) if v.requires_grad
    ]
    if terms:
        loss = terms[0]
        for t in terms[1:]:
            loss = loss + t
        loss.backward()


def _training_step(program: Any) -> Any:
    """The program as a training step: its backward and an update of the leaves inside."""

    def step(cr_: Any, f: Any, u: Any, b: Any, consts: dict, leaves: dict, extra: Any) -> list:
        vals = program(cr_, f, u, b, consts, leaves, extra)
        snapshot = [v.detach().clone() for v in vals]  # before the update (views follow it)
        _backward(vals)
        with cr.no_grad():
            for t in leaves.values():
                if t.grad is not None:
                    t.sub_(0.125 * t.grad)
        return snapshot

    return step


def _outside(program: Any) -> tuple[Any, dict]:
    """The program reading its leaves from a closure dict (``box["leaves"]``), not an argument."""
    box: dict = {}

    def outside(cr_: Any, f: Any, u: Any, b: Any, consts: dict, leaves: dict, extra: Any) -> list:
        return program(cr_, f, u, b, consts, box["leaves"], extra)

    return outside, box


def _run(
    fn: Any,
    prog: fuzz.Program,
    shift: float,
    step: bool = False,
    held: list | None = None,
    box: dict | None = None,
) -> tuple:
    """One call; ``held`` (if given) receives the returned tensors and gradients themselves, with
    copies of their values, so that the next call can check it did not write into them.
    ``box``: the leaves go there (every other one not requiring grad), not into the arguments."""
    leaves = {}
    for n, k in enumerate(prog.leaves):
        a = np.array(prog.consts[k] + shift)
        leaves[k] = cr.tensor(a).requires_grad_(box is None or n % 2 == 1)
    try:
        if box is not None:
            box["leaves"] = leaves
        vals = fn(cr, F(cr), fuzz.U, fuzz.B, prog.consts, {} if box is not None else leaves, None)
        out = [v.detach().numpy().copy() for v in vals]
        rg = [bool(v.requires_grad) for v in vals]
        if not step:
            _backward(vals)
        else:
            out += [t.detach().numpy().copy() for t in leaves.values()]  # updated inside
        grads = {k: None if t.grad is None else t.grad.numpy().copy() for k, t in leaves.items()}
    except Exception as exc:  # noqa: BLE001 - compared by class below
        return None, exc
    if held is not None:
        kept = [*vals, *(t.grad for t in leaves.values() if t.grad is not None)]
        held[:] = [(t, t.detach().numpy().copy()) for t in kept]
    return (out, rg, grads), None


def check(prog: fuzz.Program, step: bool = False, outside: bool = False) -> None:
    """Compiled equals eager on three calls with different values (see the module docstring).
    ``step``: backward() and the leaves' update run inside the compiled function; ``outside``:
    the leaves are read from the function's closure.  The programs' arrays are small: memory
    planning covers them all here (``MIN_BYTES``)."""
    floor, codegen.MIN_BYTES = codegen.MIN_BYTES, 0
    try:
        _check(prog, step, outside)
    finally:
        codegen.MIN_BYTES = floor


def _check(prog: fuzz.Program, step: bool, outside: bool = False) -> None:
    ns: dict = {}
    exec(prog.source, ns)  # noqa: S102 - the generated program
    eager_fn = ns["program"]
    if step:
        eager_fn = _training_step(eager_fn)
    box = None
    if outside:
        eager_fn, box = _outside(eager_fn)
    compiled = cr.compile(eager_fn)
    STATS["programs"] += 1
    held: list = []  # the last compiled call's results, still referenced during the next call
    for call, shift in enumerate(_SHIFTS):
        want, want_err = _run(eager_fn, prog, shift, step, box=box)
        before = list(held)
        got, got_err = _run(compiled, prog, shift, step, held, box)
        for k, (t, value) in enumerate(before):  # buffers are reused only when nobody holds them
            np.testing.assert_array_equal(
                t.detach().numpy(), value, err_msg=f"call {call} overwrote result {k} of the call before"
            )
        if want_err is not None or got_err is not None:
            assert type(got_err) is type(want_err), (
                f"call {call}: eager {type(want_err).__name__}: {want_err}; "
                f"compiled {type(got_err).__name__}: {got_err}"
            )
            STATS["refused_alike"] += 1
            return
        (wv, wr, wg), (gv, gr, gg) = want, got
        assert len(gv) == len(wv), f"call {call}: {len(gv)} values, eager {len(wv)}"
        for k, (g, w) in enumerate(zip(gv, wv)):
            assert g.shape == w.shape and g.dtype == w.dtype, f"call {call} value {k}: {g.shape} vs {w.shape}"
            np.testing.assert_allclose(
                g, w, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=f"call {call} value {k}"
            )
        assert gr == wr, f"call {call}: requires_grad {gr} vs eager {wr}"
        for k in wg:
            assert (gg[k] is None) == (wg[k] is None), f"call {call}: gradient of {k}"
            if wg[k] is not None:
                np.testing.assert_allclose(
                    gg[k],
                    wg[k],
                    rtol=1e-10,
                    atol=1e-12,
                    equal_nan=True,
                    err_msg=f"call {call}: gradient of {k}",
                )
    eager_keys = sum(1 for e in compiled.cache.values() if e.eager_reason)
    STATS["compiled" if eager_keys < len(compiled.cache) else "ran_eagerly"] += 1
    STATS["traces"] += compiled.traces


def fuzz_test(
    max_examples: int,
    derandomize: bool,
    mismatches: list | None = None,
    step: bool = False,
    outside: bool = False,
) -> Any:
    @settings(max_examples=max_examples, derandomize=derandomize, **fuzz.SETTINGS)
    @given(fuzz.programs())
    def test(prog: fuzz.Program) -> None:
        note(prog.source)
        if mismatches is None:
            check(prog, step, outside)
            return
        try:
            check(prog, step, outside)
        except AssertionError as exc:
            STATS["mismatches"] += 1
            mismatches.append((str(exc), prog.source))

    return test


def report() -> str:
    n = STATS["programs"]
    return (
        f"{n} programs: {STATS['compiled']} ran compiled code, {STATS['ran_eagerly']} ran eagerly "
        f"(the compiler declined), {STATS['refused_alike']} refused alike, "
        f"{STATS['mismatches']} mismatches; {STATS['traces']} traces"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tests/fuzz_compile.py")
    ap.add_argument("--programs", type=int, default=2000, help="run N fresh programs (long mode)")
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--step", action="store_true", help="backward() and an update inside the function")
    ap.add_argument("--outside", action="store_true", help="the leaves are read from the function's closure")
    args = ap.parse_args(argv)
    found: list = []
    done = 0
    while done < args.programs:
        chunk = min(250, args.programs - done)
        fuzz_test(chunk, derandomize=False, mismatches=found, step=args.step, outside=args.outside)()
        done += chunk
        print(f"{time.strftime('%H:%M:%S')} {report()}", flush=True)
    for message, source in found[: args.show]:
        print(f"\n--- mismatch: {message}\n{source}")
    print(f"done: {report()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
