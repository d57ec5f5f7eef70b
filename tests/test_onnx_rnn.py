"""ONNX export of the whole-layer recurrent primitives (LstmLayer, LstmLayerProj, GruLayer):
projections, both directions, batch_first, given states and a dynamic batch, run in onnxruntime
against chainrule's own outputs (which tests/test_nn_rnn.py compares with PyTorch)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import chainrule as torch
from chainrule import nn


class _Net(nn.Module):
    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        out, last = self.rnn(x, tuple(state) if len(state) == 2 else (state[0] if state else None))
        return (out, *last) if isinstance(last, tuple) else (out, last)


CASES = {
    "lstm-proj-bidirectional": (lambda: nn.LSTM(3, 5, 2, proj_size=2, bidirectional=True), (4, 3, 3), ()),
    "lstm-batch_first-states": (lambda: nn.LSTM(3, 4, batch_first=True), (3, 4, 3), ((1, 3, 4), (1, 3, 4))),
    "gru-bidirectional-batch_first": (
        lambda: nn.GRU(3, 4, 2, batch_first=True, bidirectional=True),
        (3, 5, 3),
        (),
    ),
    "gru-nobias-state": (lambda: nn.GRU(3, 4, bias=False), (5, 3, 3), ((1, 3, 4),)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_recurrent_layer_exports_and_runs_in_onnxruntime(name: str) -> None:
    make, x_shape, state_shapes = CASES[name]
    torch.manual_seed(0)
    m = _Net(make()).eval()
    batch_axis = 0 if m.rnn.batch_first else 1
    inputs = [torch.randn(*x_shape)] + [torch.randn(*s) for s in state_shapes]
    names = ["x"] + [f"s{k}" for k in range(len(state_shapes))]
    axes = {"x": {batch_axis: "batch"}, **{n: {1: "batch"} for n in names[1:]}}
    proto = torch.onnx.export(m, tuple(inputs), None, input_names=names, dynamic_axes=axes)
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (x_shape[batch_axis], 1, 6):
        shape = list(x_shape)
        shape[batch_axis] = batch
        xs = [torch.randn(*shape)] + [torch.randn(s[0], batch, s[2]) for s in state_shapes]
        got = sess.run(None, {n: x.numpy() for n, x in zip(names, xs)})
        want = m(*xs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            w = w.detach().numpy()
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_a_dynamic_sequence_length_is_refused_naming_the_axis() -> None:
    m = _Net(nn.GRU(3, 4)).eval()
    with pytest.raises(torch.onnx.ExportError, match="unrolls over the sequence length"):
        torch.onnx.export(m, (torch.randn(5, 2, 3),), None, input_names=["x"], dynamic_axes={"x": {0: "seq"}})
