"""NaN and inf inputs: every op of the table propagates them quietly (no warning, as PyTorch),
or refuses them where PyTorch does, with its exception class and the facts of its message.

The decompositions (LAPACK underneath) are compared with PyTorch value by value: det and
slogdet give NaN, the iterative ones (eigh, svd and what is built on them) raise
``LinAlgError`` naming the batch element, lstsq refuses the input as PyTorch's drivers do.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ops_table import CASES, A, Case, I, M
from reference import torch

import chainrule as cr

# Ops over LAPACK: compared with PyTorch on NaN/inf input, values, gradients and refusals
DECOMPOSITIONS = {"linalg.cond", "linalg.det", "linalg.eigh", "linalg.eigvalsh", "linalg.lstsq",
                  "linalg.matrix_norm", "linalg.matrix_rank", "linalg.pinv", "linalg.slogdet",
                  "linalg.svd", "linalg.svdvals", "logdet", "pinverse", "slogdet", "svd"}


def nan_inputs(case: Any) -> list:
    """The case's arrays (seed 0) with NaN, +inf, -inf as the first entries of each float input."""
    rng = np.random.default_rng(0)
    arrays = []
    for spec in case.args:
        a = spec.make(rng)
        if isinstance(spec, A) and not isinstance(spec, (I, M)) and a.size:
            flat = a.reshape(-1)
            flat[: min(3, flat.size)] = [np.nan, np.inf, -np.inf][: min(3, flat.size)]
        arrays.append(a)
    return arrays


def _run(case: Case, T: Any) -> tuple[list, list]:
    """Forward and backward of ``case`` on its NaN inputs with library ``T``: (outputs, grads)."""
    args = []
    for spec, a in zip(case.args, nan_inputs(case)):
        t = cr.tensor(a) if T is cr else torch.from_numpy(np.array(a, copy=True))
        if isinstance(spec, A) and spec.grad and not isinstance(spec, (I, M)):
            t.requires_grad_()
        args.append(t)
    out = (case.ref if case.ref is not None and T is not cr else case.fn)(T, *args)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if hasattr(o, "requires_grad")]
    live = [o for o in outs if o.requires_grad]
    if live:
        sum(o.sum() for o in live).backward()
    return outs, [a.grad for a in args if getattr(a, "requires_grad", False)] if live else []


def _same_refusal(where: str, cls: str, msg: str, ref: Exception) -> None:
    """Ours (class name, message) refuses as PyTorch's ``ref``: LinAlgError for LinAlgError,
    the op PyTorch names, the batch element, and why."""
    text = str(ref)
    want = "LinAlgError" if isinstance(ref, torch.linalg.LinAlgError) else type(ref).__name__
    assert cls == want, f"{where}: ours {cls}: {msg}\nPyTorch {want}: {text}"
    if "INTERNAL ASSERT FAILED" in text:  # lstsq: LAPACK rejects the NaN, then an assert fires
        facts = ["linalg.lstsq", "NaN or inf"]
    else:
        facts = [text.split(":")[0]] + re.findall(r"\(Batch element \d+\)|failed to converge", text)
    for fact in facts:
        assert fact in msg, f"{where}: ours lacks {fact!r}: {msg}\nPyTorch: {text}"


_SCRIPT = """from __future__ import annotations
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np
import chainrule as cr
from ops_table import CASES, A, I, M

{nan_inputs}

refused = []
for case in CASES:
    args = [cr.tensor(a) for a in nan_inputs(case)]
    for spec, t in zip(case.args, args):
        if isinstance(spec, A) and spec.grad and not isinstance(spec, (I, M)):
            t.requires_grad_()
    try:
        out = case.fn(cr, *args)
        outs = [o for o in (out if isinstance(out, (tuple, list)) else [out])
                if isinstance(o, cr.Tensor) and o.requires_grad]
        if outs:
            sum(o.sum() for o in outs).backward()
    except Exception as exc:  # recorded: PyTorch must refuse the same input
        refused.append([case.id, type(exc).__name__, str(exc)])
print(json.dumps(refused))
"""


def test_nan_and_inf_propagate_without_any_warning() -> None:
    """Every op of the table, fed NaN, +inf and -inf, forward and backward, with warnings as
    errors in a fresh process (as users run it): nothing is printed, and an op refuses only
    where PyTorch refuses the same input."""
    code = _SCRIPT.format(tests=str(Path(__file__).parent), nan_inputs=inspect.getsource(nan_inputs))
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-3000:]
    refused = json.loads(proc.stdout)
    by_id = {c.id: c for c in CASES}
    for cid, cls, msg in refused:
        case = by_id[cid]
        assert case.torch, f"{cid}: ours refuses NaN/inf input (no PyTorch case to compare): {cls}: {msg}"
        try:
            _run(case, torch)
        except Exception as ref:  # noqa: BLE001 - compared with ours
            _same_refusal(cid, cls, msg, ref)
            continue
        raise AssertionError(f"{cid}: ours refuses NaN/inf input that PyTorch takes: {cls}: {msg}")


@pytest.mark.parametrize("case", [c for c in CASES if c.op in DECOMPOSITIONS], ids=lambda c: c.id)
def test_decompositions_on_nan_and_inf_match_torch(case: Case) -> None:
    """NaN results and gradients where PyTorch gives them, its LinAlgError where it raises."""
    try:
        ref_outs, ref_grads = _run(case, torch)
    except Exception as ref:  # noqa: BLE001 - ours must refuse as PyTorch does
        with pytest.raises(RuntimeError) as info:
            _run(case, cr)
        _same_refusal(case.id, type(info.value).__name__, str(info.value), ref)
        return
    outs, grads = _run(case, cr)
    assert len(outs) == len(ref_outs) and len(grads) == len(ref_grads)
    for o, r in zip(outs + grads, ref_outs + ref_grads):
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), rtol=1e-10, equal_nan=True)


def test_nan_and_inf_values_match_numpy_and_torch() -> None:
    a = np.array([-1.0, 0.0, np.nan, np.inf, -np.inf, 2.0])
    x = cr.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    for f in (lambda T, v: T.log(v), lambda T, v: T.sqrt(v), lambda T, v: v / 0.0,
              lambda T, v: T.exp(v) * v, lambda T, v: T.tanh(v), lambda T, v: T.relu(v),
              lambda T, v: T.amax(v.reshape(2, 3), 1), lambda T, v: T.softmax(v, 0),
              lambda T, v: v.sum() - v, lambda T, v: T.where(v > 0, v, v * v),
              lambda T, v: T.max(v) * v, lambda T, v: T.min(v)):  # NaN's gradient to the NaNs
        ours, ref = f(cr, x), f(torch, t)  # (PyTorch's vectorised sqrt may be 1 ulp off)
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=4e-16)
        ours.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=4e-16)
        x.grad = t.grad = None
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(cr.log(cr.tensor(a)).numpy(), np.log(a))
