"""``torch.embedding_bag`` (ATen's four outputs) against PyTorch 2.13's CPU kernel: the output and
its gradients (float64), and offset2bag / bag_size / max_indices for every mode and option."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr

IDX = [1, 2, 4, 5, 4, 3, 2, 0]
OFF = [0, 2, 2, 5]  # bag 1 is empty


def _call(T, w, idx, off, mode, psw, ilo, pad, rg, dtype="float64", it="int64"):
    W = T.tensor(w, dtype=getattr(T, dtype)).requires_grad_(rg)
    ps = None if psw is None else T.tensor(psw, dtype=getattr(T, dtype)).requires_grad_(rg)
    i, o = T.tensor(idx, dtype=getattr(T, it)), T.tensor(off, dtype=getattr(T, it))
    return W, ps, T.embedding_bag(W, i, o, False, mode, False, ps, ilo, pad)


CASES = [
    (mode, psw, ilo, pad, rg)
    for mode, ilo, pad, rg in itertools.product(range(3), (False, True), (None, 2, -1), (False, True))
    for psw in ([None, True] if mode == 0 else [None])
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode,psw,ilo,pad,rg", CASES)
def test_auxiliary_outputs_match_pytorch(mode, psw, ilo, pad, rg, dtype) -> None:
    torch = need_torch()
    w = np.arange(12.0).reshape(6, 2)
    p = np.arange(8.0) / 4 if psw else None
    for off in (OFF, OFF[:-1] + [8] if ilo else OFF):  # with include_last_offset: a short last offset too
        ours = _call(cr, w, IDX, off, mode, p, ilo, pad, rg, dtype)[2]
        ref = _call(torch, w, IDX, off, mode, p, ilo, pad, rg, dtype)[2]
        assert len(ours) == len(ref) == 4
        assert ours[0].requires_grad == ref[0].requires_grad
        if not ilo or off[-1] == len(IDX):
            # (a last offset short of len(indices) is outside PyTorch's contract: its float32 kernel
            # without padding_idx ends the last bag there, its other kernels run it to the end)
            out, want = ours[0].detach().numpy(), ref[0].detach().numpy()
            np.testing.assert_allclose(out, want, rtol=1e-6, err_msg=str(off))
        for a, b in zip(ours[1:], ref[1:]):
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            assert a.tolist() == b.tolist(), (off, ours[1:], ref[1:])


@pytest.mark.parametrize("seed", range(6))
def test_output_and_gradients_match_pytorch_float64(seed) -> None:
    torch = need_torch()
    rng = np.random.default_rng(seed)
    n, num, dim = int(rng.integers(1, 12)), 7, 3
    idx = rng.integers(0, num, n).tolist()
    cuts = sorted(rng.integers(0, n + 1, int(rng.integers(1, 5))).tolist())
    mode = seed % 3
    ilo = bool(seed % 2)
    off = [0, *cuts, n] if ilo else [0, *cuts]
    pad = int(rng.integers(0, num)) if seed >= 3 else None
    w = rng.standard_normal((num, dim))
    psw = rng.standard_normal(n) if mode == 0 else None
    res = []
    for T in (cr, torch):
        W, ps, out = _call(T, w, idx, off, mode, psw, ilo, pad, True)
        g = T.tensor(rng.standard_normal(out[0].shape) if T is cr else res[0][3], dtype=T.float64)
        (out[0] * g).sum().backward()
        res.append(
            [out[0].detach().numpy(), W.grad.numpy(), None if ps is None else ps.grad.numpy(), g.numpy()]
            + [t.tolist() for t in out[1:]]
        )
    (o1, gw1, gp1, _, *aux1), (o2, gw2, gp2, _, *aux2) = res
    np.testing.assert_allclose(o1, o2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw1, gw2, rtol=1e-12, atol=1e-12)
    if gp2 is not None:
        np.testing.assert_allclose(gp1, gp2, rtol=1e-12, atol=1e-12)
    assert aux1 == aux2


def test_max_ties_empty_bags_and_int32_indices() -> None:
    torch = need_torch()
    w = [[1.0, 5.0], [1.0, 5.0], [0.0, 5.0], [2.0, 2.0]]
    for idx, off in (([2, 0, 1, 3], [0]), ([1, 0, 2], [0, 3, 3]), ([], [0, 0])):
        for it in ("int64", "int32"):
            ours = _call(cr, w, idx, off, 2, None, False, None, False, "float32", it)[2]
            ref = _call(torch, w, idx, off, 2, None, False, None, False, "float32", it)[2]
            assert [t.tolist() for t in ours] == [t.tolist() for t in ref]
            assert [str(t.dtype).split(".")[-1] for t in ours] == [str(t.dtype).split(".")[-1] for t in ref]


def test_refusals_match_pytorch() -> None:
    torch = need_torch()

    def calls(T):
        W, i, o = T.ones(6, 2), T.tensor(IDX), T.tensor(OFF)
        return [
            lambda: T.embedding_bag(W, i, o, False, 3),
            lambda: T.embedding_bag(W, i, o, False, 1, False, T.ones(8)),
            lambda: T.embedding_bag(W, i, T.tensor([1, 3]), False, 1),
            lambda: T.embedding_bag(W, i, T.tensor([0, 9]), False, 1),
            lambda: T.embedding_bag(W, i, o, False, 1, False, None, False, 6),
            lambda: T.embedding_bag(W, i.float(), o, False, 1),
            lambda: T.embedding_bag(W, i, None, False, 1),
        ]

    for ours, ref in zip(calls(cr), calls(torch)):
        with pytest.raises(Exception) as a:
            ours()
        with pytest.raises(Exception) as b:
            ref()
        assert a.type is b.type, (a.value, b.value)
