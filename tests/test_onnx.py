"""chainrule.onnx.export: models and ops exported from the traced graph, run in onnxruntime and
compared with chainrule's own outputs; dynamic axes, names, parameters, and the refusals."""

from __future__ import annotations

import io
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import chainrule as torch
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.demo import make_cnn, make_mlp
from chainrule.onnx import ExportError


def _session(model_or_path) -> ort.InferenceSession:
    data = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else model_or_path
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _run(sess: ort.InferenceSession, *xs: torch.Tensor) -> list[np.ndarray]:
    return sess.run(None, {i.name: x.numpy() for i, x in zip(sess.get_inputs(), xs)})


def _close(got: np.ndarray, want: torch.Tensor) -> None:
    want = want.detach().numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    # float32 sums in another order differ by a few ulps of the largest terms, not of each output:
    # the absolute tolerance scales with the outputs' magnitude (a 0.8 next to 25s is off by 2e-5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))


def _eval_model(m: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for p in m.parameters():  # not the init values: every parameter matters for the comparison
        p.data.copy_(torch.randn(*p.shape) * 0.3)
    return m.eval()


class LanguageModel(nn.Module):
    def __init__(self, vocab: int = 30, emb: int = 12, hidden: int = 16, layers: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor):
        out, (h, c) = self.lstm(self.embedding(tokens))
        return self.decoder(out), h, c


class BatchNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 10)
        self.bn1 = nn.BatchNorm1d(10)
        self.ln = nn.LayerNorm(10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.max_pool2d(torch.relu(self.bn(self.conv(x))), 2).flatten(1)
        return F.log_softmax(self.ln(self.bn1(self.fc(y))), dim=-1)


def _batchnorm_net() -> BatchNormNet:
    m = _eval_model(BatchNormNet())
    m.train()
    with torch.no_grad():  # running statistics that are not 0 and 1
        for _ in range(3):
            m(torch.randn(6, 2, 8, 8) * 2 + 1)
    return m.eval()


def test_demo_mlp_runs_in_onnxruntime_with_state_dict_initializers(tmp_path) -> None:
    m = _eval_model(make_mlp())
    x = torch.randn(4, 64)
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(m, (x,), str(path))
    onnx.checker.check_model(str(path), full_check=True)
    (got,) = _run(_session(str(path)), x)
    _close(got, m(x))
    names = {t.name for t in onnx.load(str(path)).graph.initializer}
    assert names == set(m.state_dict())


def test_demo_cnn_written_to_a_binary_file_object(tmp_path) -> None:
    m = _eval_model(make_cnn())
    x = torch.randn(3, 1, 8, 8)
    path = tmp_path / "cnn.onnx"
    with open(path, "wb") as fh:
        torch.onnx.export(m, (x,), fh)
    onnx.checker.check_model(str(path), full_check=True)
    (got,) = _run(_session(str(path)), x)
    _close(got, m(x))
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"Conv", "MaxPool", "Gemm"} <= ops and "GatherElements" not in ops  # the pool's own values


@pytest.mark.parametrize("fold", [True, False])
def test_batchnorm_in_eval_mode(fold: bool) -> None:
    m = _batchnorm_net()
    x = torch.randn(5, 2, 8, 8)
    buf = io.BytesIO()
    proto = torch.onnx.export(m, (x,), buf, do_constant_folding=fold)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    (got,) = _run(_session(buf.getvalue()), x)
    _close(got, m(x))
    names = {t.name for t in proto.graph.initializer}
    if not fold:  # every parameter and running statistic under its state_dict name
        assert {k for k in m.state_dict() if "num_batches" not in k} <= names
    else:  # the normalisation's scale and shift were computed at export time
        assert "bn.running_var" not in names and "conv.weight" in names


def test_lstm_language_model_with_a_dynamic_batch() -> None:
    m = _eval_model(LanguageModel())
    tokens = torch.randint(0, 30, (3, 7))
    proto = torch.onnx.export(
        m,
        (tokens,),
        None,
        input_names=["tokens"],
        output_names=["logits", "h_n", "c_n"],
        dynamic_axes={"tokens": {0: "batch"}, "logits": {0: "batch"}},
    )
    onnx.checker.check_model(proto, full_check=True)
    sess = _session(proto)
    assert [o.name for o in sess.get_outputs()] == ["logits", "h_n", "c_n"]
    for batch in (3, 5, 1):
        t = torch.randint(0, 30, (batch, 7))
        for got, want in zip(_run(sess, t), m(t)):
            _close(got, want)


def test_dynamic_axes_let_another_batch_size_run() -> None:
    m = _eval_model(make_mlp())
    x = torch.randn(4, 64)
    static = _session(torch.onnx.export(m, (x,), None))
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument):
        _run(static, torch.randn(7, 64))  # the traced size is written into the file
    proto = torch.onnx.export(m, (x,), None, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = _session(proto)
    for batch in (1, 7, 32):
        xb = torch.randn(batch, 64)
        _close(_run(sess, xb)[0], m(xb))
    listed = torch.onnx.export(m, (x,), None, input_names=["x"], dynamic_axes={"x": [0]})
    assert listed.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"


def test_dynamic_sizes_inside_the_model_are_read_at_run_time() -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(0)  # divides by the batch size
        rows = centred.reshape(-1, 4).sum(1)  # merges the batch with another dim
        return rows.reshape(x.shape[0], 5) + torch.zeros(x.shape[0], 1)  # a constant of batch rows

    x = torch.randn(3, 5, 4)
    sess = _session(torch.onnx.export(fn, (x,), None, dynamic_axes={"x": {0: "b"}}))
    for batch in (3, 6):
        xb = torch.randn(batch, 5, 4)
        _close(_run(sess, xb)[0], fn(xb))


def test_input_and_output_names_are_honoured() -> None:
    class TwoWays(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(3, 4)

        def forward(self, x: torch.Tensor, y: torch.Tensor):
            return self.a(x) * y, y.sum(1)

    m = _eval_model(TwoWays())
    x, y = torch.randn(2, 3), torch.randn(2, 4)
    default = torch.onnx.export(m, (x, y), None)
    assert [i.name for i in default.graph.input] == ["x", "y"]
    assert [o.name for o in default.graph.output] == ["output_0", "output_1"]
    proto = torch.onnx.export(
        m, (x, y), None, input_names=["features", "scale"], output_names=["out", "total"]
    )
    sess = _session(proto)
    assert [i.name for i in sess.get_inputs()] == ["features", "scale"]
    assert [o.name for o in sess.get_outputs()] == ["out", "total"]
    got = sess.run(["total", "out"], {"features": x.numpy(), "scale": y.numpy()})
    _close(got[0], m(x, y)[1])
    _close(got[1], m(x, y)[0])
    with pytest.raises(ValueError, match="dynamic_axes names 'batch'"):
        torch.onnx.export(m, (x, y), None, dynamic_axes={"batch": [0]})
    with pytest.raises(ValueError, match="3 input_names for 2 tensor inputs"):
        torch.onnx.export(m, (x, y), None, input_names=["a", "b", "c"])


def test_parameters_as_graph_inputs_and_initializers_as_inputs() -> None:
    m = _eval_model(make_mlp())
    x = torch.randn(2, 64)
    proto = torch.onnx.export(m, (x,), None, export_params=False)
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["input"] + list(m.state_dict())
    feeds = {"input": x.numpy()} | {k: v.numpy() for k, v in m.state_dict().items()}
    _close(_session(proto).run(None, feeds)[0], m(x))
    kept = torch.onnx.export(m, (x,), None, keep_initializers_as_inputs=True)
    assert {i.name for i in kept.graph.input} == {"input"} | set(m.state_dict())
    _close(_run(_session(kept), x)[0], m(x))


def test_is_in_onnx_export_only_while_exporting() -> None:
    seen = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        seen.append(torch.onnx.is_in_onnx_export())
        return x * 2

    fn(torch.ones(2))
    torch.onnx.export(fn, (torch.ones(2),), None)
    assert seen == [False, True] and torch.onnx.is_in_onnx_export() is False


def test_a_primitive_without_lowering_names_itself_and_the_line() -> None:
    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.digamma(x.exp())  # the line the error names

    with pytest.raises(ExportError) as err:
        torch.onnx.export(fn, (torch.randn(3),), None)
    msg = str(err.value)
    assert "no ONNX lowering for primitive 'Digamma'" in msg
    assert f"{__file__}:" in msg and "torch.digamma(x.exp())" in msg
    assert (
        "Digamma" not in torch.onnx.supported_primitives() and "LstmCell" in torch.onnx.supported_primitives()
    )


def test_what_one_onnx_graph_cannot_hold_is_refused_with_the_fix() -> None:
    drop = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).train()
    with pytest.raises(ExportError, match=r"dropout masks.*model\.eval\(\)"):
        torch.onnx.export(drop, (torch.randn(2, 4),), None)
    bn = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)).train()
    with pytest.raises(ExportError, match=r"running statistics.*model\.eval\(\)"):
        torch.onnx.export(bn, (torch.randn(2, 4),), None)
    with pytest.raises(ExportError, match=r"reads a tensor's value in Python \(item\(\)"):
        torch.onnx.export(lambda x: x * x.sum().item(), (torch.randn(2, 4),), None)
    lm = _eval_model(LanguageModel(layers=1))
    with pytest.raises(ExportError, match="changes with the size of the dynamic axes"):
        torch.onnx.export(lm, (torch.randint(0, 30, (2, 5)),), None, dynamic_axes={"tokens": {1: "seq"}})
    with pytest.raises(ValueError, match="opset_version=9 is outside"):
        torch.onnx.export(drop.eval(), (torch.randn(2, 4),), None, opset_version=9)


def test_missing_onnx_package_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[onnx\]"'):
        torch.onnx.export(nn.Linear(2, 2), (torch.ones(1, 2),), None)


# ---------------------------------------------------------------- ops, one small function each
torch.manual_seed(1)
X4 = torch.randn(2, 3, 6, 6)
V = torch.randn(3, 5)
W = torch.randn(5, 5)
IDS = torch.tensor([[0, 2, 1], [4, 4, 0]])
CONV_T = _eval_model(nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1))
CONV_1D = _eval_model(nn.Conv1d(3, 2, 2))

OPS: dict[str, tuple] = {}


def case(x: torch.Tensor):
    def register(fn):
        OPS[fn.__name__] = (fn, x)
        return fn

    return register


@case(V)
def linear_addmm_matmul(v):
    return F.linear(v, W, W[0]) + torch.addmm(v, v, W) + v @ W + (v.T @ v).sum()


@case(V)
def linear_3d_bmm_einsum(v):
    return F.linear(v[None], W) + torch.bmm(v[None], W[None]) + torch.einsum("ij,jk->ik", v, W)


@case(V)
def arithmetic(v):
    return (v + 1) * v - v / 3 - (-v) + v.pow(2) + v**3 + 2**v + v.abs().sqrt() + v.abs().rsqrt()


@case(V)
def exp_log_tanh_sigmoid(v):
    return v.exp().log() + v.tanh() + v.sigmoid() + v.exp().log1p() + v.expm1()


@case(V)
def activations(v):
    out = F.relu(v) + F.gelu(v) + F.gelu(v, approximate="tanh") + F.silu(v) + F.elu(v)
    return out + F.leaky_relu(v, 0.2) + F.softplus(v) + F.hardtanh(v) + F.mish(v)


@case(V)
def softmax_log_softmax(v):
    return F.softmax(v, -1) + F.log_softmax(v, 0) + v.logsumexp(1, keepdim=True)


@case(X4)
def reshape_view_flatten(x):
    return x.reshape(2, 3, 36).view(6, 36).flatten()


@case(X4)
def transpose_permute(x):
    a = x.transpose(1, 3).permute(0, 2, 3, 1).flatten()
    return a + x.permute(0, 3, 1, 2).transpose(1, 2).flatten() + x[0, 0].T.flatten().repeat(6)


@case(V)
def squeeze_unsqueeze_expand(v):
    return v[:, None].squeeze(1).unsqueeze(0).expand(4, 3, 5) + v[:, :1].expand(3, 5)


@case(V)
def cat_stack_split_chunk(v):
    out = torch.cat([v, v * 2], 1)[:, :5] + torch.stack([v, v], 2).sum(2)
    return out + v.split(2, 1)[1].sum() + v.chunk(5, 1)[4]


@case(X4)
def slicing_and_select(x):
    out = x[:, 1:3, ::2, -2] + x[..., 0][:, None, 1:3, 5:0:-2].sum(1)
    return out + x[1, 2, 3, 4] + x[:, 2:0:-1, 0, 1:4]


@case(V)
def index_with_a_tensor(v):
    return v[torch.tensor([2, 0, 1])] + v[:, torch.tensor([1, 1, 3, 4, 0])]


@case(V)
def gather_and_where(v):
    picked = torch.gather(v, 1, torch.tensor([[0, 1], [2, 2], [4, 0]]))
    return picked + torch.where(v[:, :2] > 0, v[:, :2], -v[:, :2])


@case(X4)
def sum_mean_max_reductions(x):
    out = x.sum((2, 3)) + x.mean(1)[:, :3, 0].sum() + x.amax(2)[..., 0] + x.max(1)[0][:, 0, :3]
    return out + x.min() + x.prod(3)[..., 0]


@case(V)
def var_std_norm(v):
    return v.var(1) + v.std(0).sum() + v.norm() + v.norm(dim=0).sum()


@case(V)
def argmax_sort_topk_cumsum(v):
    out = v.argmax(1).float() + v.argmin(0).float().sum() + v.sort(1)[0].sum(1)
    return out + v.topk(2, 1)[0].sum(1) + v.cumsum(1)[:, -1] + v.flip(0)[:, 0]


@case(V)
def compare_and_logic(v):
    out = ((v > 0) & (v < 1) | (v >= 2) ^ ~(v != 0.5)).float() + (v == v.round()).float()
    out = out + v.clamp(-0.5, 0.5) + v.clamp(min=0.1) + v.isfinite().float()
    return out + (v > 0).all(1, keepdim=True).float()


@case(V)
def rounding_trig_minmax(v):
    out = v.floor() + v.ceil() + v.trunc() + v.sign() + v.sin() + v.cos() + v.atan() + torch.erf(v)
    return out + torch.maximum(v, W[:3]) + torch.minimum(v, 0.5 * v)


@case(IDS)
def integer_ops(i):
    return (i * 2 + 1) // 2 + i % 3 - i.sum() + (i / 2).long() + i.cumsum(1)


@case(V)
def casts(v):
    return v.double().sum(1, keepdim=True).float() + v.long().float() + (v > 0).int().float()


@case(IDS)
def embedding(i):
    return F.embedding(i, W)


@case(X4)
def conv2d_stride_dilation_groups(x):
    grouped = F.conv2d(x, torch.ones(6, 1, 3, 3), stride=2, padding=1, groups=3)
    return grouped + F.conv2d(x, torch.ones(6, 3, 2, 2), dilation=2)[:, :, :3, :3]


@case(X4)
def conv1d_and_conv_transpose(x):
    return CONV_T(x).sum((2, 3)) + CONV_1D(x[:, :, 0]).sum(2)


@case(X4)
def max_pooling(x):
    uneven = F.max_pool2d(x[..., :5], (3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True)
    padded = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
    return F.max_pool2d(x, 2) + uneven[..., :3, :3] + padded[..., 1:, 1:]


@case(X4)
def avg_pooling(x):
    return F.avg_pool2d(x, 2) + F.avg_pool2d(x, 3, stride=2, padding=1) + F.adaptive_avg_pool2d(x, 1)


@case(X4)
def layer_group_norm_and_pad(x):
    return F.layer_norm(x, (6, 6)) + F.group_norm(x, 3) + F.pad(x, (1, 0, 0, 1))[..., 1:, :-1]


@case(V)
def dropout_in_eval_and_losses(v):
    loss = F.cross_entropy(v, torch.tensor([1, 0, 4])) + F.mse_loss(v, W[:3])
    return F.dropout(v, 0.5, training=False).sum() + loss


@case(V)
def repeat_and_masked_fill(v):
    return v.repeat(2, 1)[:3] + v.masked_fill(v > 0, 0.0) + torch.ones(3, 5) + torch.full_like(v, 2.0)


@pytest.mark.parametrize("name", list(OPS))
def test_op_lowering_matches_chainrule(name: str) -> None:
    fn, x = OPS[name]
    proto = torch.onnx.export(fn, (x,), None)
    onnx.checker.check_model(proto, full_check=True)
    _close(_run(_session(proto), x)[0], fn(x))


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_older_opsets(opset: int) -> None:
    fn, x = OPS["sum_mean_max_reductions"]
    proto = torch.onnx.export(fn, (x,), None, opset_version=opset)
    assert proto.opset_import[0].version == opset
    _close(_run(_session(proto), x)[0], fn(x))


def test_a_max_pool_index_read_as_an_index() -> None:
    """MaxPoolIndex is lowered to MaxPool's values where a gather reads them (above); anything
    else gets the index itself, per channel in the padded input's coordinates."""
    from chainrule.ops._core import PRIMITIVES, apply

    params = {"widths": (0, 1, 1, 1), "k": (3, 2), "s": (2, 2), "d": (1, 1), "out_hw": (3, 3)}

    def fn(x: torch.Tensor) -> torch.Tensor:
        return apply(PRIMITIVES["MaxPoolIndex"], (x,), params)

    x = torch.randn(2, 3, 6, 5)
    got = _run(_session(torch.onnx.export(fn, (x,), None)), x)[0]
    np.testing.assert_array_equal(got, fn(x).numpy())
