"""The Tensor: a NumPy array plus what autograd needs to know about it.

Operators and math methods are attached in ``_tensor_methods`` from the op
table; this module holds only what belongs to the object itself: its data,
its autograd attributes, conversions, and the in-place machinery (version
counter, rebasing a tensor's history after an in-place op).

Slots (read directly by the hot paths in ``ops._core`` and the engine):
  _data    -- the ndarray (always an ndarray, 0-d included).
  _rg      -- requires_grad.
  _grad    -- the accumulated gradient (a Tensor) or None.
  grad_fn  -- the Node that produced this tensor, None for leaves.
  _vc      -- version cell ``[n]``, shared with views of the same storage.
  _base    -- the tensor this one is a view of (never itself a view), or None.
  _vfn     -- views only: ``(chain, version)``, the view ops that make it from ``_base`` and
              the version at which its ``grad_fn`` was made (see ``ops._views``).
  _meta    -- None or a dict of rarely used extras (hooks, retain_grad, names, tangents).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator

import numpy as np

from . import dtypes as _dt
from .backend import CPU

__all__ = ["Tensor", "Size", "wrap", "as_array"]

_ndarray = np.ndarray


class Size(tuple):
    """A tensor's shape: a tuple (``h, w = x.shape``, ``(1,) + x.shape``) that prints like PyTorch."""

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):  # type: ignore[override]
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):  # type: ignore[override]
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):  # type: ignore[override]
        return Size(tuple(other) + tuple(self))


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    >>> x = chainrule.arange(4.0).requires_grad_()
    >>> (2 * x @ x).backward(); x.grad
    tensor([ 0.,  4.,  8., 12.])
    """

    __slots__ = ("_data", "_rg", "_grad", "grad_fn", "_vc", "_base", "_vfn", "_meta", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__  # identity hash: tensors are dict keys in the engine

    def __init__(self, *args: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        """``Tensor(data)`` (float32 unless ``dtype``) or ``Tensor(*sizes)`` (uninitialised)."""
        npd = _dt.to_numpy(dtype) if dtype is not None else _dt.get_default_dtype().np
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            data = np.empty(tuple(int(a) for a in args), dtype=npd)
        elif len(args) == 1:
            data = np.array(as_array(args[0]), dtype=npd)
        elif not args:
            data = np.empty((0,), dtype=npd)
        else:
            raise TypeError("Tensor() takes one data argument or integer sizes")
        _init(self, data)
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy(self._data.dtype)

    @property
    def device(self):
        return CPU

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_cuda(self) -> bool:
        return False

    # chainrule tensors are dense CPU arrays: none of PyTorch's other devices or layouts
    is_xpu = is_mps = is_meta = is_sparse = is_quantized = is_mkldnn = is_cuda

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[dim]

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"  # (V: bfloat16, see dtypes.kind)

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    @property
    def _version(self) -> int:
        return self._vc[0]

    # --------------------------------------------------------------- autograd
    @property
    def requires_grad(self) -> bool:
        if self._base is not None:
            _refresh_view(self)
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.grad_fn is not None and not flag:
            raise RuntimeError(
                "requires_grad can only be changed on leaf tensors; this tensor was made by "
                f"{self.grad_fn.name()}. Use y = x.detach() for a tensor without history."
            )
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf tensor; returns self."""
        if requires_grad and type(self._vc) is not list and not _grad_state.inference:
            raise inference_error("Setting requires_grad=True on")
        if requires_grad and self._data.dtype.kind not in "fcV":
            raise RuntimeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype} "
                f"(shape {tuple(self._data.shape)}); convert first, e.g. x = x.float()"
            )
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "requires_grad_(False) only works on leaf tensors; this tensor was made by "
                    f"{self.grad_fn.name()}. Use x.detach() instead."
                )
            return self
        self._rg = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        if self._base is not None:
            _refresh_view(self)
        return self.grad_fn is None

    def is_inference(self) -> bool:
        return type(self._vc) is InferenceVersion

    def _is_view(self) -> bool:
        return self._base is not None

    @property
    def grad(self) -> Tensor | None:
        if self.grad_fn is not None and not self._flag("retains_grad"):
            warnings.warn(
                "The .grad attribute of a tensor that is not a leaf is being read; it is not "
                "filled by backward(). Call .retain_grad() on it before backward() if you need "
                "its gradient, or read the .grad of the leaf tensors instead.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has shape {tuple(value._data.shape)} but the tensor has shape "
                    f"{tuple(self._data.shape)}"
                )
            if value._data.dtype != self._data.dtype or (self._meta and "grad_dtype" in self._meta):
                _grad_dtype.check_assigned(self, value)
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._flag("retains_grad")

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self.grad_fn is None:
            return  # leaves always keep their gradient
        if self._flag("retains_grad"):
            return
        self._set_meta("retains_grad", True)
        _add_node_hook(self.grad_fn, _RetainGrad(self))

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it.

        Returns a handle with ``.remove()``.
        """
        from .utils.hooks import RemovableHandle

        if not self._rg:
            raise RuntimeError(
                "cannot register a hook on a tensor that does not require grad; call .requires_grad_() first"
            )
        if self.grad_fn is not None:
            return _add_node_hook(self.grad_fn, hook)
        hooks = self._get_meta("hooks")
        if hooks is None:
            hooks = []
            self._set_meta("hooks", hooks)
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> Any:
        """Call ``hook(self)`` on a leaf after backward has accumulated into its ``.grad``."""
        from .utils.hooks import RemovableHandle

        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self._get_meta("post_hooks")
        if hooks is None:
            hooks = []
            self._set_meta("post_hooks", hooks)
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``chainrule.autograd.backward``)."""
        from .autograd import backward as _backward

        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing this one's storage, cut from the graph (never requires grad)."""
        out = wrap(self._data)
        out._vc = self._vc
        out._set_meta("detached", True)
        return _keep_batches(self, out)

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place; it becomes a leaf that does not require grad."""
        if self._base is not None and self._rg:
            raise RuntimeError("detach_() is not allowed on a view; use detach() instead")
        self.grad_fn = None
        self._rg = False
        return self

    @property
    def data(self) -> Tensor:
        """A non-recording alias of the same storage (writes go to this tensor's values)."""
        tx = self._meta.get("tx") if self._meta else None
        if tx and any(lvl.kind == "vmap" for lvl in tx):
            raise RuntimeError(
                "accessing `data` under vmap transform is not allowed (it would be "
                "one example's values); use .detach(), which keeps every example"
            )
        out = wrap(self._data)
        # like PyTorch, changes through .data are not version-checked (an inference tensor's stays one)
        out._vc = [0] if type(self._vc) is list else InferenceVersion([0])
        return out

    @data.setter
    def data(self, value: Any) -> None:
        new = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = new

    # ------------------------------------------------------------- conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying ndarray (shared memory)."""
        if self._rg and not force:
            raise RuntimeError(
                f"numpy() on a tensor that requires grad (shape {tuple(self._data.shape)}): "
                "the result would silently leave the graph. Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"item() needs a tensor with one element, got shape {tuple(self._data.shape)}; "
                "use .tolist() for all values"
            )
        return self._data.reshape(-1)[0].item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self._data.shape[0]):
            yield self[i]

    def _scalar(self, what: str) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"{what} of a tensor with {self._data.size} elements (shape "
                f"{tuple(self._data.shape)}) is ambiguous; it needs exactly one element"
            )
        return self._data.reshape(-1)[0]

    def __bool__(self) -> bool:
        return bool(self._scalar("bool()"))

    def __float__(self) -> float:
        return float(self._scalar("float()"))

    def __int__(self) -> int:
        return int(self._scalar("int()"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.reshape(-1)[0])

    def __complex__(self) -> complex:
        return complex(self._scalar("complex()"))

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 or (spec and self._data.size == 1):
            return format(self._data.reshape(-1)[0].item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        from ._printing import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError("only leaf tensors (made by the user) support deepcopy; use .detach().clone()")
        out = type(self).__new__(type(self))
        _init(out, self._data.copy())
        out._rg = self._rg
        if self._grad is not None:
            out._grad = wrap(self._grad._data.copy())
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol: int):
        raise TypeError(
            "chainrule tensors are not picklable: use chainrule.save(obj, path), which never "
            "runs code when loading"
        )

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        raise RuntimeError("CUDA is not available: chainrule runs on the CPU with NumPy")

    # ------------------------------------------------------------- meta dict
    def _flag(self, key: str) -> bool:
        m = self._meta
        return bool(m and m.get(key))

    def _get_meta(self, key: str) -> Any:
        m = self._meta
        return m.get(key) if m else None

    def _set_meta(self, key: str, value: Any) -> None:
        m = self._meta
        if m is None or m.get("no_grad"):  # the no-grad marker dict is shared: copy on write
            self._meta = m = dict(m or ())
        m[key] = value


def _keep_batches(src: Tensor, out: Tensor) -> Tensor:
    """Under vmap ``out`` (an alias of one example, ``src``) keeps the whole batch, detached too;
    forward-mode tangents are dropped, as detach() drops them in PyTorch."""
    tx = src._meta.get("tx") if src._meta else None
    if tx:
        out._set_meta("tx", {lvl: p.detach() for lvl, p in tx.items() if lvl.kind == "vmap"})
    return out


def _init(t: Tensor, data: np.ndarray) -> None:
    """Every slot's starting value (``ops._core._apply`` inlines this, being the hottest path)."""
    t._data = data
    t._rg = False
    t._grad = None
    t.grad_fn = None
    t._vc = [0] if not _inference.users or not _grad_state.inference else InferenceVersion([0])
    t._base = None
    t._vfn = None
    t._meta = None


_new = object.__new__


def wrap(data: Any) -> Tensor:
    """A new leaf Tensor around ``data`` (an ndarray or NumPy scalar; no copy)."""
    t = _new(Tensor)
    _init(t, data if type(data) is _ndarray else np.asarray(data))
    return t


def as_array(obj: Any) -> Any:
    """Unwrap tensors (also inside lists/tuples) so NumPy can read nested data."""
    if isinstance(obj, Tensor):
        return obj._data
    if isinstance(obj, (list, tuple)) and any(isinstance(o, (Tensor, list, tuple)) for o in obj):
        return [as_array(o) for o in obj]
    return obj


class _RetainGrad:
    """Node hook that stores the gradient into ``tensor.grad`` (weakly referenced: no cycle)."""

    __slots__ = ("ref",)

    def __init__(self, tensor: Tensor) -> None:
        import weakref

        self.ref = weakref.ref(tensor)

    def __call__(self, grad: Tensor) -> None:
        t = self.ref()
        if t is None:
            return None
        if t._grad is None:
            t._grad = wrap(np.array(grad._data, copy=True)) if not grad._rg else grad
        elif not grad._rg and not t._grad._rg:
            t._grad._data = t._grad._data + grad._data
        else:
            t._grad = t._grad + grad
        return None


def _refresh_view(t: Tensor) -> None:
    from ._inplace import refresh

    refresh(t)


def _add_node_hook(node: Any, hook: Callable) -> Any:
    return node.register_hook(hook)


# (last: the autograd package imports Tensor from here)
from .autograd import _grad_dtype  # noqa: E402
from .autograd._inference import InferenceVersion, inference_error  # noqa: E402
from .autograd._inference import switch as _inference  # noqa: E402
from .autograd.grad_mode import state as _grad_state  # noqa: E402
