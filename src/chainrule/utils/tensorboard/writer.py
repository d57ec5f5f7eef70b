"""``SummaryWriter``: PyTorch's TensorBoard writer for chainrule tensors.

Same constructor, methods and on-disk layout as ``torch.utils.tensorboard.SummaryWriter``:
event files in ``log_dir`` (default ``runs/<Mon DD_HH-MM-SS>_<host><comment>``), one
sub-directory per ``add_scalars`` series (``<log_dir>/<main_tag>_<tag>``) and per
``add_hparams`` run.  Values may be chainrule tensors (read with ``.detach()``, so tensors that
require grad are fine), NumPy arrays or Python numbers; they are turned into NumPy here and
written as protocol buffers with tensorboardX's proto classes and event-file writer
(extra ``tensorboard``, imported on first use).  ``add_graph`` writes the compiler's trace of
the model (see ``_graph.py``), not a TorchScript graph.

    >>> from chainrule.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/exp1") as w:                         # doctest: +SKIP
    ...     w.add_scalar("loss", loss, global_step=step)
"""

from __future__ import annotations

import itertools
import os
import posixpath
import socket
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..._tensor import Tensor
from . import _image

__all__ = ["SummaryWriter"]

_EXTRA = 'pip install "chainrule[tensorboard]"'
_FILES = itertools.count()


_pb: Any = None  # the proto classes the per-step methods use, looked up once


def _require() -> None:
    global _pb
    try:
        import tensorboardX  # noqa: F401
        from tensorboardX.proto import event_pb2, summary_pb2, tensor_pb2
    except ImportError as e:
        raise ImportError(
            "chainrule.utils.tensorboard.SummaryWriter writes TensorBoard event files with "
            f"tensorboardX, which is not installed: {_EXTRA}"
        ) from e
    if _pb is None:
        _pb = SimpleNamespace(
            Event=event_pb2.Event,
            SessionLog=event_pb2.SessionLog,
            Summary=summary_pb2.Summary,
            SummaryMetadata=summary_pb2.SummaryMetadata,
            TensorProto=tensor_pb2.TensorProto,
        )


def _numpy(method: str, what: str, value: Any) -> np.ndarray:
    """``value`` as a NumPy array; a tensor is detached first (logging never records a graph)."""
    if isinstance(value, Tensor):
        return value.detach().numpy()
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(
            f"{method}: {what} must be a tensor, a NumPy array or a number, got {type(value).__name__}"
        )
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"{method}: {what} must hold numbers, got {type(value).__name__} of objects")
    return arr


def _number(method: str, what: str, value: Any) -> float:
    if type(value) is float or type(value) is int:
        return float(value)
    arr = _numpy(method, what, value)
    if arr.size != 1:
        raise ValueError(
            f"{method}: {what} must hold one number, got shape {tuple(arr.shape)}; log one value "
            "(loss.item(), x.mean()) or use add_histogram for many"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{method}: {what} must be a real number, got dtype {arr.dtype}")
    return float(arr.reshape(()))


def _step(method: str, step: Any) -> int | None:
    if step is None or type(step) is int:
        return step
    return int(_number(method, "global_step", step))


def _tag(method: str, tag: Any, what: str = "tag") -> str:
    if not isinstance(tag, str):
        raise TypeError(f"{method}: {what} must be a string, got {type(tag).__name__}")
    return tag


def _file_writer(path: str | os.PathLike, max_queue: int, flush_secs: int, suffix: str) -> Any:
    """tensorboardX's event-file writer.  Its file name is ``events.out.tfevents.<time>.<host>``
    only, so a second file opened in the same directory within the same second (reopen after
    ``close()``, two writers on one ``log_dir``) would truncate the first: the process id and a
    counter go in front of the caller's suffix, giving PyTorch's ``<host>.<pid>.<n><suffix>``."""
    from tensorboardX.writer import FileWriter

    return FileWriter(path, max_queue, flush_secs, f".{os.getpid()}.{next(_FILES)}{suffix}")


def _tensorflow_bins() -> list[float]:
    """TensorBoard's default buckets: +-1e-12 growing by 10 % up to 1e20, and 0."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-b for b in reversed(pos)] + [0] + pos


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SummaryWriter:
    """Writes TensorBoard event files (``tensorboard --logdir runs`` shows them).

    ``log_dir`` defaults to ``runs/<datetime>_<hostname><comment>``; ``purge_step`` hides
    events at or after that step left by a crashed run in the same ``log_dir``; events are
    queued (``max_queue``) and flushed every ``flush_secs`` seconds, at ``flush()`` and at
    ``close()``.  Usable as a context manager.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        _require()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: Any = None
        self.all_writers: dict[str, Any] | None = None
        self._projector: list[str] = []
        self._get_file_writer()
        self.default_bins = _tensorflow_bins()

    def _get_file_writer(self) -> Any:
        """The main event-file writer, made again after ``close()`` (a new file in ``log_dir``)."""
        if self.all_writers is None or self.file_writer is None:
            Event, SessionLog = _pb.Event, _pb.SessionLog
            self.file_writer = _file_writer(
                self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix
            )
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step = int(self.purge_step)
                self.file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=step, session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str | os.PathLike:
        """The directory the event files go to."""
        return self.log_dir

    # ------------------------------------------------------------------ scalars
    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """One point of the curve ``tag``. ``scalar_value``: a number or a one-element tensor.
        ``new_style`` stores it as a tensor summary (float64 with ``double_precision``)."""
        Summary = _pb.Summary
        tag = _tag("add_scalar", tag)
        value = _number("add_scalar", "scalar_value", scalar_value)
        if new_style:
            if double_precision:
                proto = _pb.TensorProto(double_val=[value], dtype="DT_DOUBLE")
            else:
                proto = _pb.TensorProto(float_val=[value], dtype="DT_FLOAT")
            meta = _pb.SummaryMetadata(plugin_data=_pb.SummaryMetadata.PluginData(plugin_name="scalars"))
            summary = Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=meta)])
        else:
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
        self._get_file_writer().add_summary(summary, _step("add_scalar", global_step), walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several curves on one chart ``main_tag``: each key is a run ``<log_dir>/<main_tag>_<key>``."""
        Summary = _pb.Summary
        main_tag = _tag("add_scalars", main_tag, "main_tag")
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(
                "add_scalars: tag_scalar_dict must be a dict {name: value}, got "
                f"{type(tag_scalar_dict).__name__}"
            )
        walltime = time.time() if walltime is None else walltime
        step = _step("add_scalars", global_step)
        root = self._get_file_writer().get_logdir()
        for tag, v in tag_scalar_dict.items():
            value = _number("add_scalars", f"tag_scalar_dict[{tag!r}]", v)
            path = root + "/" + main_tag.replace("/", "_") + "_" + str(tag)
            fw = self.all_writers.get(path)
            if fw is None:
                fw = self.all_writers[path] = _file_writer(
                    path, self.max_queue, self.flush_secs, self.filename_suffix
                )
            fw.add_summary(Summary(value=[Summary.Value(tag=main_tag, simple_value=value)]), step, walltime)

    # --------------------------------------------------------------- histograms
    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """The distribution of ``values`` (any shape, flattened). ``bins``: ``'tensorflow'`` (the
        default exponential buckets), a ``numpy.histogram`` rule (``'auto'``, ``'fd'``...), a
        count or edges."""
        from tensorboardX.proto.summary_pb2 import Summary
        from tensorboardX.summary import make_histogram

        tag = _tag("add_histogram", tag)
        arr = _numpy("add_histogram", "values", values)
        if arr.size == 0:
            raise ValueError(
                f"add_histogram: values of shape {tuple(arr.shape)} is empty; a histogram needs values"
            )
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"add_histogram: values must be real numbers, got dtype {arr.dtype}")
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        hist = make_histogram(arr.astype(float), bins, max_bins)
        summary = Summary(value=[Summary.Value(tag=tag, histo=hist)])
        self._get_file_writer().add_summary(summary, _step("add_histogram", global_step), walltime)

    def add_histogram_raw(
        self,
        tag: str,
        min: float,  # noqa: A002 - PyTorch's names
        max: float,  # noqa: A002
        num: int,
        sum: float,  # noqa: A002
        sum_squares: float,
        bucket_limits: Any,
        bucket_counts: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """A histogram already binned: ``bucket_counts[i]`` values up to ``bucket_limits[i]``."""
        from tensorboardX.proto.summary_pb2 import HistogramProto, Summary

        limits = _numpy("add_histogram_raw", "bucket_limits", bucket_limits).reshape(-1)
        counts = _numpy("add_histogram_raw", "bucket_counts", bucket_counts).reshape(-1)
        if limits.shape != counts.shape:
            raise ValueError(
                f"add_histogram_raw: bucket_limits has {limits.size} entries and bucket_counts "
                f"{counts.size}; give one upper limit per bucket"
            )
        hist = HistogramProto(
            min=float(min),
            max=float(max),
            num=float(num),
            sum=float(sum),
            sum_squares=float(sum_squares),
            bucket_limit=limits.astype(float).tolist(),
            bucket=counts.astype(float).tolist(),
        )
        summary = Summary(value=[Summary.Value(tag=_tag("add_histogram_raw", tag), histo=hist)])
        self._get_file_writer().add_summary(summary, _step("add_histogram_raw", global_step), walltime)

    # ------------------------------------------------------------------- images
    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """One image, ``(C, H, W)`` by default (``dataformats='HWC'``, ``'HW'``...), C in {1, 3, 4}.
        Floats are read as [0, 1] (clipped), uint8 as [0, 255]."""
        self._image("add_image", tag, img_tensor, global_step, walltime, dataformats)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """A batch ``(N, C, H, W)`` (or ``'NHWC'``...) shown as one grid, 8 images per row."""
        self._image("add_images", tag, img_tensor, global_step, walltime, dataformats)

    def _image(self, method: str, tag: str, img: Any, step: Any, walltime: Any, dataformats: str) -> None:
        from tensorboardX.proto.summary_pb2 import Summary

        tag = _tag(method, tag)
        hwc = _image.to_uint8(_image.to_hwc(method, _numpy(method, "img_tensor", img), dataformats))
        h, w, c = hwc.shape
        image = Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=_image.png(hwc))
        self._get_file_writer().add_summary(
            Summary(value=[Summary.Value(tag=tag, image=image)]), _step(method, step), walltime
        )

    # --------------------------------------------------------------------- text
    def add_text(
        self, tag: str, text_string: str, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Text (Markdown) under ``tag``; TensorBoard files it as ``<tag>/text_summary``."""
        from tensorboardX.summary import text

        tag = _tag("add_text", tag)
        if not isinstance(text_string, str):
            raise TypeError(f"add_text: text_string must be a str, got {type(text_string).__name__}")
        self._get_file_writer().add_summary(text(tag, text_string), _step("add_text", global_step), walltime)

    # ------------------------------------------------------------------ hparams
    def add_hparams(
        self,
        hparam_dict: dict[str, Any],
        metric_dict: dict[str, Any],
        hparam_domain_discrete: dict[str, list] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """One row of TensorBoard's HParams table, written to the run ``<log_dir>/<run_name>``
        (default: the current time): the hyperparameters, and each metric as a scalar there."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError(
                "add_hparams: hparam_dict and metric_dict must be dicts, got "
                f"{type(hparam_dict).__name__} and {type(metric_dict).__name__}"
            )
        summaries = _hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        step = _step("add_hparams", global_step)
        with SummaryWriter(log_dir=os.path.join(self._get_file_writer().get_logdir(), run_name)) as run:
            for s in summaries:
                run.file_writer.add_summary(s, step)
            for k, v in metric_dict.items():
                run.add_scalar(k, v, step)

    # -------------------------------------------------------------------- graph
    def add_graph(
        self, model: Any, input_to_model: Any = None, verbose: bool = False, use_strict_trace: bool = True
    ) -> None:
        """The model's graph as the compiler traces it (``chainrule.fx.symbolic_trace``): one node
        per primitive op, grouped by submodule.  ``input_to_model``: a tensor or a tuple of
        tensors (the trace records shapes); ``verbose`` prints the traced graph.
        ``use_strict_trace`` is accepted for PyTorch's signature; the tracer flattens containers
        either way."""
        from tensorboardX.proto.event_pb2 import Event

        from ._graph import graph_def

        graph = graph_def(model, input_to_model, verbose)
        self._get_file_writer().add_event(Event(graph_def=graph.SerializeToString()))

    # ---------------------------------------------------------------- embedding
    @staticmethod
    def _encode(rawstr: str) -> str:
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_embedding(
        self,
        mat: Any,
        metadata: list | None = None,
        label_img: Any = None,
        global_step: int | None = None,
        tag: str = "default",
        metadata_header: list | None = None,
    ) -> None:
        """Points ``mat`` (N, D) for TensorBoard's projector, with optional labels (``metadata``,
        N entries, or rows of ``metadata_header`` columns) and thumbnails ``label_img`` (N, C, H, W)."""
        from tensorboardX.embedding import make_mat, make_tsv

        mat = _numpy("add_embedding", "mat", mat)
        if mat.ndim != 2:
            raise ValueError(
                f"add_embedding: mat must be 2-D (points, features), got shape {tuple(mat.shape)}"
            )
        step = 0 if global_step is None else _step("add_embedding", global_step)
        subdir = f"{str(step).zfill(5)}/{self._encode(_tag('add_embedding', tag))}"
        save_path = os.path.join(self._get_file_writer().get_logdir(), subdir)
        if os.path.exists(save_path) and not os.path.isdir(save_path):
            raise NotADirectoryError(f"add_embedding: {save_path} exists and is a file")
        os.makedirs(save_path, exist_ok=True)
        if metadata is not None:
            if len(metadata) != mat.shape[0]:
                raise ValueError(
                    f"add_embedding: metadata has {len(metadata)} labels for {mat.shape[0]} points (mat "
                    f"of shape {tuple(mat.shape)}); give one label per row"
                )
            make_tsv(list(metadata), save_path, metadata_header=metadata_header)
        if label_img is not None:
            imgs = _numpy("add_embedding", "label_img", label_img)
            if imgs.ndim != 4 or imgs.shape[0] != mat.shape[0] or imgs.shape[1] not in (1, 3):
                raise ValueError(
                    f"add_embedding: label_img must be (N, C, H, W) with N = {mat.shape[0]} points and "
                    f"C in {{1, 3}}, got shape {tuple(imgs.shape)}"
                )
            with open(os.path.join(save_path, "sprite.png"), "wb") as f:
                f.write(_image.png(_image.sprite(imgs)))
        make_mat(mat, save_path)
        entry = [f"  tensor_name: {_quote(f'{tag}:{str(step).zfill(5)}')}"]
        if metadata is not None:
            entry.append(f"  metadata_path: {_quote(posixpath.join(subdir, 'metadata.tsv'))}")
        if label_img is not None:
            entry += [
                "  sprite {",
                f"    image_path: {_quote(posixpath.join(subdir, 'sprite.png'))}",
                f"    single_image_dim: {imgs.shape[3]}",
                f"    single_image_dim: {imgs.shape[2]}",
                "  }",
            ]
        entry.append(f"  tensor_path: {_quote(posixpath.join(subdir, 'tensors.tsv'))}")
        self._projector.append("embeddings {\n" + "\n".join(entry) + "\n}\n")
        config = os.path.join(self._get_file_writer().get_logdir(), "projector_config.pbtxt")
        with open(config, "w", encoding="utf-8") as f:
            f.write("".join(self._projector))

    # -------------------------------------------------------------- life cycle
    def flush(self) -> None:
        """Write every queued event to disk now."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()

    def close(self) -> None:
        """Flush and close the event files; a later ``add_*`` opens a new file in ``log_dir``."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()
            w.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _hparams(hparam_dict: dict, metric_dict: dict, domain: dict | None) -> tuple:
    """The HParams plugin's three summaries: experiment (names and types), session start (the
    values), session end.  Bools count as numbers (1.0 / 0.0), as PyTorch files them."""
    from google.protobuf import struct_pb2
    from tensorboardX.proto.api_pb2 import DataType, Experiment, HParamInfo, MetricInfo, MetricName, Status
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

    domain = {} if domain is None else domain
    if not isinstance(domain, dict):
        raise TypeError(
            "add_hparams: hparam_domain_discrete must be a dict {name: [values]}, got "
            f"{type(domain).__name__}"
        )
    for k, v in domain.items():
        if (
            k not in hparam_dict
            or not isinstance(v, list)
            or not all(isinstance(d, type(hparam_dict[k])) for d in v)
        ):
            raise TypeError(
                f"add_hparams: hparam_domain_discrete[{k!r}] must be a list of values of the type of "
                f"hparam_dict[{k!r}]"
            )
    start = SessionStartInfo()
    infos = []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, (Tensor, np.ndarray, np.generic)):
            v = _number("add_hparams", f"hparam_dict[{k!r}]", v)
        if isinstance(v, (int, float)):
            start.hparams[k].number_value = float(v)
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(v, str):
            start.hparams[k].string_value = v
            kind, field = "DATA_TYPE_STRING", "string_value"
        else:
            raise ValueError(
                f"add_hparams: hparam_dict[{k!r}] is a {type(v).__name__}; a hyperparameter is an int, "
                "float, str, bool, one-element tensor or None"
            )
        values = None
        if k in domain:
            values = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domain[k]])
        infos.append(HParamInfo(name=k, type=DataType.Value(kind), domain_discrete=values))

    def summary(tag: str, **content: Any) -> Any:
        data = HParamsPluginData(version=0, **content).SerializeToString()
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams", content=data))
        return Summary(value=[Summary.Value(tag=tag, metadata=meta)])

    experiment = Experiment(
        hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=k)) for k in metric_dict]
    )
    end = SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))
    return (
        summary("_hparams_/experiment", experiment=experiment),
        summary("_hparams_/session_start_info", session_start_info=start),
        summary("_hparams_/session_end_info", session_end_info=end),
    )
