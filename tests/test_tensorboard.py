"""chainrule.utils.tensorboard.SummaryWriter: event files read back with TensorBoard's own
reader, and the same calls through torch.utils.tensorboard giving the same summaries."""

from __future__ import annotations

import importlib
import io
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from reference import REQUIRE_TORCH, need_torch

import chainrule
import chainrule.nn as nn
from chainrule.utils.tensorboard import SummaryWriter

SIZES = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0, "compressedHistograms": 0}


def _need(name: str):
    """The writer's extra and TensorBoard's reader: installed in CI (where a missing one fails),
    skipped elsewhere."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if REQUIRE_TORCH:
            raise
        pytest.skip(f"{name} not installed (extras 'tensorboard' and 'test')")


@pytest.fixture
def ea():
    _need("tensorboardX")
    return _need("tensorboard.backend.event_processing.event_accumulator")


def _read(ea, path: Path):
    acc = ea.EventAccumulator(str(path), size_guidance=SIZES)
    acc.Reload()
    return acc


def _events(path: Path) -> list:
    """Every event of the one event file in ``path`` (not below it) as written, wall times cleared."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event

    (name,) = [f for f in os.listdir(path) if f.startswith("events.out.tfevents")]
    out = []
    for record in RawEventFileLoader(str(path / name)).Load():
        e = Event.FromString(record)
        e.wall_time = 0
        out.append(e)
    return out


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.block = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))

    def forward(self, inp):
        return self.block(self.fc1(inp)) * 2


# ---------------------------------------------------------------- read back
def test_scalars_read_back_with_their_steps_and_values(ea, tmp_path: Path) -> None:
    x = chainrule.randn(5, requires_grad=True)
    values = [x.sum(), np.float32(0.25), 3, 1.5, np.array(7.0), chainrule.tensor([2.0])]
    with SummaryWriter(tmp_path) as w:
        for step, v in enumerate(values):
            w.add_scalar("loss", v, step * 10)
        w.add_scalar("exact", 0.1, 0, new_style=True, double_precision=True)
        w.add_scalar("tensor_style", 0.1, 0, new_style=True)
    acc = _read(ea, tmp_path)
    got = acc.Scalars("loss")
    assert [e.step for e in got] == [0, 10, 20, 30, 40, 50]
    want = [x.detach().numpy().sum(), 0.25, 3, 1.5, 7.0, 2.0]
    assert [e.value for e in got] == [float(np.float32(v)) for v in want]  # simple_value is a float32
    (exact,) = acc.Tensors("exact")
    assert exact.tensor_proto.dtype == 2 and list(exact.tensor_proto.double_val) == [0.1]  # DT_DOUBLE
    (single,) = acc.Tensors("tensor_style")
    assert list(single.tensor_proto.float_val) == [float(np.float32(0.1))]
    assert acc.SummaryMetadata("tensor_style").plugin_data.plugin_name == "scalars"


def test_add_scalars_writes_one_run_per_key(ea, tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("train/loss", {"a": step, "b": chainrule.tensor(2.0 * step)}, step)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["train_loss_a", "train_loss_b"]
    for key, scale in (("a", 1.0), ("b", 2.0)):
        got = _read(ea, tmp_path / f"train_loss_{key}").Scalars("train/loss")
        assert [(e.step, e.value) for e in got] == [(s, scale * s) for s in range(3)]


def test_histogram_summarises_the_data_as_numpy_does(ea, tmp_path: Path) -> None:
    data = np.random.default_rng(0).standard_normal((40, 25))
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", chainrule.tensor(data, requires_grad=True), 3)
        w.add_histogram("auto", data, 4, bins="auto")
    acc = _read(ea, tmp_path)
    for tag in ("w", "auto"):
        (e,) = acc.Histograms(tag)
        h = e.histogram_value
        assert (h.num, h.min, h.max) == (data.size, data.min(), data.max())
        assert h.sum == pytest.approx(data.sum(), rel=1e-12)
        assert h.sum_squares == pytest.approx((data * data).sum(), rel=1e-12)
        assert sum(h.bucket) == data.size and list(h.bucket_limit) == sorted(h.bucket_limit)
    counts, edges = np.histogram(data.reshape(-1), bins="auto")
    h = acc.Histograms("auto")[0].histogram_value
    assert list(h.bucket)[1:] == counts.tolist() and list(h.bucket_limit) == edges.tolist()


def test_images_chw_hwc_grey_and_batches(ea, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    chw = rng.uniform(-0.2, 1.2, (3, 5, 7)).astype(np.float32)  # out of [0, 1]: clipped
    grey = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    batch = rng.random((10, 1, 4, 6))
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", chainrule.tensor(chw, requires_grad=True), 0)
        w.add_image("hwc", chw.transpose(1, 2, 0), 0, dataformats="HWC")
        w.add_image("grey", grey, 0, dataformats="HW")
        w.add_images("batch", batch, 0)
        w.add_images("batch_nhwc", batch.transpose(0, 2, 3, 1), 0, dataformats="NHWC")
    acc = _read(ea, tmp_path)
    want = (chw.transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
    for tag in ("chw", "hwc"):
        (im,) = acc.Images(tag)
        assert (im.height, im.width) == (5, 7)
        np.testing.assert_array_equal(_pixels(im.encoded_image_string), want)
    (im,) = acc.Images("grey")
    np.testing.assert_array_equal(_pixels(im.encoded_image_string), np.stack([grey] * 3, axis=-1))
    tiles = (batch[:, 0] * 255).astype(np.float32).clip(0, 255).astype(np.uint8)
    for tag in ("batch", "batch_nhwc"):
        (im,) = acc.Images(tag)
        assert (im.height, im.width) == (2 * 4, 8 * 6)  # 8 per row, 2 rows
        px = _pixels(im.encoded_image_string)[..., 0]
        for k in range(10):
            r, c = divmod(k, 8)
            np.testing.assert_array_equal(px[4 * r : 4 * r + 4, 6 * c : 6 * c + 6], tiles[k])
        assert not px[4:, 12:].any()  # the empty places of the grid


def test_text_and_hparams(ea, tmp_path: Path) -> None:
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "**lr** = 0.1", 2)
        w.add_hparams({"lr": 0.1, "opt": "sgd", "layers": 3, "skip": None}, {"hp/acc": 0.75}, run_name="r1")
    acc = _read(ea, tmp_path)
    (t,) = acc.Tensors("notes/text_summary")
    assert t.step == 2 and list(t.tensor_proto.string_val) == ["**lr** = 0.1".encode()]
    run = _read(ea, tmp_path / "r1")
    content = run.PluginTagToContent("hparams")
    assert set(content) == {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    }
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == 0.1 and start.hparams["opt"].string_value == "sgd"
    assert start.hparams["layers"].number_value == 3 and "skip" not in start.hparams
    exp = HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [i.name for i in exp.hparam_infos] == ["lr", "opt", "layers"]
    assert [m.name.tag for m in exp.metric_infos] == ["hp/acc"]
    assert [e.value for e in run.Scalars("hp/acc")] == [0.75]


def test_graph_has_the_models_ops_edges_and_shapes(ea, tmp_path: Path) -> None:
    model = Net()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, chainrule.randn(2, 4))
    g = _read(ea, tmp_path).Graph()
    by_name = {n.name: n for n in g.node}
    ops = {n.op for n in g.node}
    assert {"Linear", "Relu", "Mul", "IO Node", "Parameter"} <= ops
    for n in g.node:  # every edge comes from a node of the graph
        assert all(i in by_name for i in n.input), n
    (relu,) = [n for n in g.node if n.op == "Relu"]
    assert relu.name.startswith("Net/Sequential[block]/ReLU[0]/")
    (first,) = [n for n in g.node if n.op == "Linear" and n.name.startswith("Net/Linear[fc1]/")]
    assert list(first.input) == ["input/inp", "Net/Linear[fc1]/weight", "Net/Linear[fc1]/bias"]
    assert relu.input == [first.name]
    dims = [d.size for d in first.attr["_output_shapes"].list.shape[0].dim]
    assert dims == [2, 3]
    (out,) = [n for n in g.node if n.name.startswith("output/")]
    assert by_name[out.input[0]].op == "Mul"
    w = by_name["Net/Linear[fc1]/weight"]
    assert [d.size for d in w.attr["_output_shapes"].list.shape[0].dim] == [3, 4]


def test_graph_of_a_function(ea, tmp_path: Path) -> None:
    def f(a, b):
        return chainrule.tanh(a @ b).sum()

    with SummaryWriter(tmp_path) as w:
        w.add_graph(f, (chainrule.randn(2, 3), chainrule.randn(3, 4)))
    g = _read(ea, tmp_path).Graph()
    names = [n.name for n in g.node]
    assert "input/a" in names and "input/b" in names
    assert {"Tanh", "Sum"} <= {n.op for n in g.node}


def test_graph_buffers_and_code_the_tracer_refuses(ea, tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model)  # no input: made from the first layer, as symbolic_trace does
        with pytest.raises(RuntimeError, match=r"add_graph: could not trace reads_numpy: .*\.numpy\(\)"):
            w.add_graph(reads_numpy, chainrule.randn(3))
    ops = {n.name: n.op for n in _read(ea, tmp_path).Graph().node}
    assert ops["Sequential/BatchNorm1d[1]/running_mean"] == "Buffer"
    assert ops["Sequential/BatchNorm1d[1]/weight"] == ops["Sequential/Linear[0]/bias"] == "Parameter"


def reads_numpy(x):
    return chainrule.tensor(x.numpy() * 2) + x


def test_embedding_files(tmp_path: Path) -> None:
    _need("tensorboardX")
    mat = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(chainrule.tensor(mat, requires_grad=True), metadata=["a", "b", "c", "d"], tag="emb")
    rows = (tmp_path / "00000" / "emb" / "tensors.tsv").read_text().splitlines()
    np.testing.assert_array_equal(np.array([[float(v) for v in r.split("\t")] for r in rows]), mat)
    assert (tmp_path / "00000" / "emb" / "metadata.tsv").read_text() == "a\nb\nc\nd\n"
    assert 'tensor_name: "emb:00000"' in (tmp_path / "projector_config.pbtxt").read_text()


def test_default_log_dir_close_reopen_and_purge_step(ea, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    logdir = Path(w.get_logdir())
    assert logdir.parent == Path("runs") and logdir.is_dir()
    stamp, host = logdir.name[: -len("_lr0.1")].split("_", 2)[:2], socket.gethostname()
    assert logdir.name.endswith("_" + host + "_lr0.1")
    datetime.strptime("_".join(stamp), "%b%d_%H-%M-%S")
    w.add_scalar("x", 1.0, 0)
    w.close()
    w.close()  # twice is fine
    w.add_scalar("x", 2.0, 1)  # a new event file in the same directory
    w.flush()
    w.close()
    assert len(list(logdir.glob("events.out.tfevents*"))) == 2
    assert [(e.step, e.value) for e in _read(ea, logdir).Scalars("x")] == [(0, 1.0), (1, 2.0)]
    with SummaryWriter(tmp_path / "p", purge_step=5) as w:
        w.add_scalar("x", 1.0, 5)
    events = _events(tmp_path / "p")
    assert events[1].step == 5 and events[2].step == 5 and events[2].session_log.status == 1  # START


# ------------------------------------------------------------- vs PyTorch
def _same_run(ours: Path, theirs: Path) -> None:
    a, b = _events(ours), _events(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.step == y.step
        if not x.HasField("summary"):
            assert x.file_version == y.file_version  # (TensorBoard's own writer adds its name)
            continue
        for u, v in zip(x.summary.value, y.summary.value, strict=True):
            if u.HasField("image"):
                assert (u.tag, u.image.height, u.image.width, u.image.colorspace) == (
                    v.tag,
                    v.image.height,
                    v.image.width,
                    v.image.colorspace,
                )
                np.testing.assert_array_equal(
                    _pixels(u.image.encoded_image_string), _pixels(v.image.encoded_image_string)
                )
            elif u.metadata.plugin_data.plugin_name == "hparams":
                from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

                assert u.tag == v.tag
                parse = HParamsPluginData.FromString
                assert parse(u.metadata.plugin_data.content) == parse(v.metadata.plugin_data.content)
            else:
                assert u == v


def test_same_summaries_as_torch(tmp_path: Path) -> None:
    torch = need_torch()
    _need("tensorboardX")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    rng = np.random.default_rng(3)
    data = rng.standard_normal(500).astype(np.float32)
    img = rng.uniform(-0.1, 1.1, (3, 6, 5))
    batch = rng.random((5, 3, 4, 4)).astype(np.float32)
    u8 = rng.integers(0, 256, (4, 4, 1), dtype=np.uint8)
    hp = ({"lr": 0.01, "opt": "adam", "bn": True}, {"hp/loss": 0.5}, {"opt": ["adam", "sgd"]})
    for root, writer, tensor in (
        ("ours", SummaryWriter, chainrule.tensor),
        ("torch", TorchWriter, torch.tensor),
    ):
        with writer(str(tmp_path / root)) as w:
            for step in range(3):
                w.add_scalar("loss", tensor(float(data[step])), step)
                w.add_scalar("loss_new", float(data[step]), step, new_style=True, double_precision=step == 1)
                w.add_scalars("pair", {"x": float(data[step]), "y": step}, step, walltime=0.0)
            w.add_histogram("h", tensor(data), 0)
            w.add_histogram("h_fd", data, 1, bins="fd", max_bins=7)
            w.add_histogram("h_int", np.arange(20) % 7, 2, bins=5)
            w.add_image("img", img, 0)
            w.add_image("img_hwc", img.transpose(1, 2, 0), 1, dataformats="HWC")
            w.add_image("u8", u8, 0, dataformats="HWC")
            w.add_images("batch", tensor(batch), 0)
            w.add_text("note", "hello", 4)
            w.add_hparams(*hp[:2], hparam_domain_discrete=hp[2], run_name="run")
    for sub in ("", "pair_x", "pair_y", "run"):
        _same_run(tmp_path / "ours" / sub, tmp_path / "torch" / sub)


def test_same_embedding_as_torch(tmp_path: Path) -> None:
    torch = need_torch()
    _need("tensorboardX")
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    rng = np.random.default_rng(4)
    mat = rng.standard_normal((5, 3)).astype(np.float32)
    imgs = rng.random((5, 3, 4, 4)).astype(np.float32)
    meta = [["a", 1], ["b", 2], ["c", 3], ["d", 4], ["e", 5]]
    for root, writer, tensor in (
        ("ours", SummaryWriter, chainrule.tensor),
        ("torch", TorchWriter, torch.tensor),
    ):
        with writer(str(tmp_path / root)) as w:
            w.add_embedding(
                tensor(mat), metadata=meta, label_img=tensor(imgs), tag="a/b", metadata_header=["k", "v"]
            )
            w.add_embedding(tensor(mat), global_step=3)
    for rel in ("00000/a%2fb/tensors.tsv", "00000/a%2fb/metadata.tsv", "00003/default/tensors.tsv"):
        assert (tmp_path / "ours" / rel).read_bytes() == (tmp_path / "torch" / rel).read_bytes(), rel
    sprites = [_pixels((tmp_path / r / "00000/a%2fb/sprite.png").read_bytes()) for r in ("ours", "torch")]
    np.testing.assert_array_equal(*sprites)
    configs = [
        text_format.Parse((tmp_path / r / "projector_config.pbtxt").read_text(), ProjectorConfig())
        for r in ("ours", "torch")
    ]
    assert configs[0] == configs[1]


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "method, shape, fmt, words",
    [
        ("add_image", (3, 4, 5), "CHWX", ["add_image", "'CHWX'", "permutation"]),
        ("add_image", (3, 4, 5), "CCH", ["add_image", "'CCH'"]),
        ("add_image", (3, 4, 5), "XYZ", ["add_image", "'XYZ'"]),
        ("add_image", (4, 5), "CHW", ["add_image", "(4, 5)", "'CHW'", "'HW'"]),
        ("add_image", (1, 3, 4, 5, 6), "CHW", ["add_image", "(1, 3, 4, 5, 6)"]),
        ("add_image", (2, 4, 5), "CHW", ["add_image", "(2, 4, 5)", "2 channels"]),
        ("add_images", (3, 4, 5), "NCHW", ["add_images", "(3, 4, 5)", "'NCHW'"]),
        ("add_images", (2, 5, 4, 4), "NCHW", ["add_images", "(2, 5, 4, 4)", "5 channels"]),
    ],
)
def test_bad_images_say_method_and_shape(tmp_path: Path, method, shape, fmt, words) -> None:
    _need("tensorboardX")
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError) as info:
            getattr(w, method)("img", np.zeros(shape), 0, dataformats=fmt)
    for word in words:
        assert word in str(info.value)


def test_bad_values_say_method_and_shape(tmp_path: Path) -> None:
    _need("tensorboardX")
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match=r"add_scalar: scalar_value .* shape \(3,\)"):
            w.add_scalar("x", chainrule.ones(3), 0)
        with pytest.raises(ValueError, match=r"add_histogram: values of shape \(0, 2\) is empty"):
            w.add_histogram("h", np.zeros((0, 2)), 0)
        with pytest.raises(TypeError, match="add_scalar: scalar_value must be a tensor"):
            w.add_scalar("x", "1.0", 0)
        with pytest.raises(TypeError, match="add_hparams: hparam_dict and metric_dict must be dicts"):
            w.add_hparams([("lr", 1)], {})
        with pytest.raises(TypeError, match="add_text: text_string must be a str"):
            w.add_text("t", 3)
        with pytest.raises(TypeError, match="add_graph: input_to_model must be a tensor"):
            w.add_graph(Net(), "x")


def test_missing_extra_names_the_install(monkeypatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "tensorboardX" or m.startswith("tensorboardX.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[tensorboard\]"'):
        SummaryWriter(tmp_path)


def test_importing_the_module_does_not_import_the_extra() -> None:
    code = "import sys, chainrule.utils.tensorboard; print('tensorboardX' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
