"""RNN, LSTM, GRU (and their cells) against PyTorch 2.13: multi-layer, bidirectional, batch_first,
unbatched, initial states, projections — outputs, final states and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import Case, compare, need_torch, np_of
from reference import torch

import chainrule as cr

L, N, I, H = 5, 3, 4, 6  # sequence length, batch, input size, hidden size


def C(id_: str, make, *inputs, **kw) -> Case:
    return Case(id_, make, inputs, **kw)


def with_state(m, x, h):
    return m(x, h)


def with_lstm_state(m, x, h, c):
    return m(x, (h, c))


CASES = [
    C("RNN", lambda T: T.nn.RNN(I, H), (L, N, I)),
    C("RNN-relu-2layer", lambda T: T.nn.RNN(I, H, 2, nonlinearity="relu"), (L, N, I)),
    C("RNN-h0-batch_first", lambda T: T.nn.RNN(I, H, num_layers=2, batch_first=True),
      (N, L, I), (2, N, H), call=with_state),
    C("RNN-bidirectional-nobias", lambda T: T.nn.RNN(I, H, bias=False, bidirectional=True), (L, N, I)),
    C("RNN-unbatched", lambda T: T.nn.RNN(I, H, 2), (L, I), (2, H), call=with_state),
    C("LSTM", lambda T: T.nn.LSTM(I, H), (L, N, I)),
    C("LSTM-3layer", lambda T: T.nn.LSTM(I, H, num_layers=3), (L, N, I)),
    C("LSTM-states-batch_first", lambda T: T.nn.LSTM(I, H, 2, batch_first=True),
      (N, L, I), (2, N, H), (2, N, H), call=with_lstm_state),
    C("LSTM-bidirectional-2layer", lambda T: T.nn.LSTM(I, H, 2, bidirectional=True),
      (L, N, I), (4, N, H), (4, N, H), call=with_lstm_state),
    C("LSTM-proj", lambda T: T.nn.LSTM(I, H, 2, proj_size=3), (L, N, I), (2, N, 3), (2, N, H),
      call=with_lstm_state),
    C("LSTM-unbatched", lambda T: T.nn.LSTM(I, H), (L, I), (1, H), (1, H), call=with_lstm_state),
    C("LSTM-nobias", lambda T: T.nn.LSTM(I, H, bias=False, batch_first=True), (N, L, I)),
    C("GRU", lambda T: T.nn.GRU(I, H), (L, N, I)),
    C("GRU-2layer-h0", lambda T: T.nn.GRU(I, H, 2), (L, N, I), (2, N, H), call=with_state),
    C("GRU-bidirectional-batch_first", lambda T: T.nn.GRU(I, H, 2, batch_first=True,
                                                          bidirectional=True), (N, L, I)),
    C("GRU-nobias-unbatched", lambda T: T.nn.GRU(I, H, bias=False), (L, I)),
    C("GRU-dropout-eval", lambda T: T.nn.GRU(I, H, 2, dropout=0.5), (L, N, I), train=False),
    C("RNNCell", lambda T: T.nn.RNNCell(I, H), (N, I), (N, H), call=with_state),
    C("RNNCell-relu-nobias", lambda T: T.nn.RNNCell(I, H, bias=False, nonlinearity="relu"), (N, I)),
    C("RNNCell-unbatched", lambda T: T.nn.RNNCell(I, H), (I,), (H,), call=with_state),
    C("LSTMCell", lambda T: T.nn.LSTMCell(I, H), (N, I), (N, H), (N, H),
      call=lambda m, x, h, c: m(x, (h, c))),
    C("LSTMCell-zero-state", lambda T: T.nn.LSTMCell(I, H), (N, I)),
    C("GRUCell", lambda T: T.nn.GRUCell(I, H), (N, I), (N, H), call=with_state),
    C("GRUCell-unbatched", lambda T: T.nn.GRUCell(I, H), (I,)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_recurrent_layer_matches_torch(case: Case) -> None:
    compare(case, "float64")


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("LSTM-3layer", "GRU")],
                         ids=["LSTM-3layer", "GRU"])
def test_recurrent_layer_matches_torch_float32(case: Case) -> None:
    compare(case, "float32")


def test_parameter_names_shapes_and_order_are_pytorchs() -> None:
    need_torch()
    for make in (lambda T: T.nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2),
                 lambda T: T.nn.GRU(3, 4, bias=False), lambda T: T.nn.RNN(3, 4, 3)):
        ours = [(n, tuple(p.shape)) for n, p in make(cr).named_parameters()]
        ref = [(n, tuple(p.shape)) for n, p in make(torch).named_parameters()]
        assert ours == ref


def test_default_init_is_uniform_in_one_over_sqrt_hidden() -> None:
    cr.manual_seed(0)
    lstm = cr.nn.LSTM(10, 64)
    values = np.concatenate([np_of(p).ravel() for p in lstm.parameters()])
    bound = 1 / np.sqrt(64)
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.95 * bound and values.max() > 0.95 * bound
    assert abs(values.var() - bound**2 / 3) < 0.05 * bound**2 / 3


def test_dropout_between_layers_in_training() -> None:
    cr.manual_seed(0)
    gru = cr.nn.GRU(3, 4, 2, dropout=0.5)
    x = cr.randn(5, 2, 3)
    a, _ = gru(x)
    b, _ = gru(x)
    assert not np.allclose(np_of(a), np_of(b))  # random masks differ between calls
    gru.eval()
    np.testing.assert_array_equal(np_of(gru(x)[0]), np_of(gru(x)[0]))
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        cr.nn.LSTM(3, 4, dropout=0.2)


def test_errors_name_the_expected_sizes() -> None:
    lstm = cr.nn.LSTM(4, 6, 2)
    with pytest.raises(RuntimeError, match=r"size\(-1\) must be equal to input_size. Expected 4, got 3"):
        lstm(cr.randn(5, 2, 3))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 2, 6\), got \[1, 2, 6\]"):
        lstm(cr.randn(5, 2, 4), (cr.zeros(1, 2, 6), cr.zeros(2, 2, 6)))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 6\), got \[1, 3, 6\]"):
        cr.nn.GRU(4, 6)(cr.randn(5, 2, 4), cr.zeros(1, 3, 6))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        cr.nn.RNN(4, 6)(cr.randn(1, 5, 2, 4))
    with pytest.raises(RuntimeError, match="hx should also be 2-D"):
        cr.nn.RNN(4, 6)(cr.randn(5, 4), cr.zeros(1, 1, 6))
    with pytest.raises(ValueError, match="input must have the type"):
        cr.nn.RNN(4, 6)(cr.randn(5, 1, 4, dtype=cr.float64))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        cr.nn.RNN(4, 6, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        cr.nn.GRU(4, 6, proj_size=2)


def test_a_long_sequence_trains_without_recursion_limits() -> None:
    rnn = cr.nn.RNN(2, 3)
    out, h = rnn(cr.randn(400, 1, 2))
    out.sum().backward()
    assert rnn.weight_hh_l0.grad is not None and np.isfinite(np_of(rnn.weight_hh_l0.grad)).all()
