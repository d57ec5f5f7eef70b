"""Errors are part of the API: each bad input gets a message naming the op, the shapes and the fix."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import chainrule as cr


def _raises(exc: type, text: str):
    return pytest.raises(exc, match=re.escape(text))


def test_backward_on_non_scalar_names_shape_and_fixes() -> None:
    y = cr.ones(3, 4, requires_grad=True) * 2
    with _raises(
        RuntimeError,
        "backward() needs a scalar output, got shape (3, 4); call "
        "y.sum().backward() or pass gradient= with shape (3, 4)",
    ):
        y.backward()


def test_backward_twice_through_freed_graph_suggests_retain_graph() -> None:
    x = cr.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with _raises(
        RuntimeError,
        "backward through MulBackward0 a second time: its saved values "
        "were freed after the first backward(). Pass retain_graph=True",
    ):
        y.backward()


def test_saved_tensor_modified_in_place_names_op_shape_versions() -> None:
    a = cr.ones(3, requires_grad=True)
    b = a * 2
    c = b * b  # saves b
    b.add_(1)
    with _raises(
        RuntimeError,
        "a tensor saved for backward by MulBackward0 (an input, shape (3,), "
        "float32) was modified by an in-place operation: it was saved at "
        "version 0 and is now at version 1.",
    ):
        c.sum().backward()


def test_saved_output_modified_in_place() -> None:
    a = cr.ones(2, requires_grad=True)
    e = a.exp()  # saves its output
    e.mul_(2)
    with _raises(RuntimeError, "a tensor saved for backward by ExpBackward0 (its output, shape (2,)"):
        e.sum().backward()


@pytest.mark.parametrize(
    "make, why",
    [
        (
            lambda: (cr.ones(2) * 2).sum(),
            "none of the tensors it was computed from requires grad; call "
            ".requires_grad_() on the inputs you want gradients for",
        ),
        (lambda: (cr.ones(2, requires_grad=True) * 2).sum().detach(), "it was detached from the graph"),
        (
            lambda: _under_no_grad(),
            "it was computed while grad mode was off (inside no_grad() or inference_mode())",
        ),
    ],
)
def test_backward_without_grad_says_why(make, why: str) -> None:
    t = make()
    with _raises(
        RuntimeError, "backward(): the tensor (shape ()) does not require grad and has no grad_fn: " + why
    ):
        t.backward()


def _under_no_grad() -> cr.Tensor:
    x = cr.ones(2, requires_grad=True)
    with cr.no_grad():
        return (x * 2).sum()


def test_inplace_on_leaf_that_requires_grad() -> None:
    w = cr.ones(3, requires_grad=True)
    with _raises(
        RuntimeError,
        "add_(): in-place operation on a leaf tensor that requires grad "
        "(shape (3,)); it would change a value autograd needs. Do it inside "
        "`with chainrule.no_grad():`",
    ):
        w.add_(1)
    with pytest.raises(RuntimeError, match="setitem"):
        w[0] = 5.0


def test_matmul_shape_mismatch_names_both_shapes() -> None:
    with _raises(RuntimeError, "matmul(): shapes (3, 4) and (5, 6) cannot be multiplied (4 != 5)"):
        cr.ones(3, 4) @ cr.ones(5, 6)
    with _raises(RuntimeError, "mm(): both arguments must be 2-d matrices, got shapes (3,) and (3, 2)"):
        cr.mm(cr.ones(3), cr.ones(3, 2))


def test_broadcast_mismatch_names_both_shapes() -> None:
    with _raises(RuntimeError, "add(): shapes (3,) and (4,) cannot be broadcast together"):
        cr.ones(3, requires_grad=True) + cr.ones(4)


def test_gradient_with_wrong_shape() -> None:
    y = cr.ones(3, requires_grad=True) * 2
    with _raises(
        RuntimeError,
        "backward(): gradient has shape (2,) but the output (MulBackward0) "
        "has shape (3,); pass a gradient with the output's shape",
    ):
        y.backward(cr.ones(2))
    with _raises(RuntimeError, "backward(): gradient has dtype int64 but the output (MulBackward0)"):
        y.backward(cr.ones(3, dtype=cr.int64))


def test_numpy_on_tensor_that_requires_grad() -> None:
    with _raises(RuntimeError, "Use tensor.detach().numpy() instead."):
        cr.ones(2, requires_grad=True).numpy()
    assert cr.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_reading_grad_of_non_leaf_warns() -> None:
    y = cr.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning, match=re.escape("Call .retain_grad() on it before backward()")):
        assert y.grad is None
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None


def test_int_tensors_cannot_require_grad() -> None:
    with _raises(
        RuntimeError,
        "only floating point tensors can require gradients, got dtype "
        "chainrule.int64 (shape (2,)); convert first, e.g. x = x.float()",
    ):
        cr.tensor([1, 2], requires_grad=True)


def test_failed_op_leaves_no_half_built_graph() -> None:
    x = cr.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError):
        y @ cr.ones(4, 4)
    with pytest.raises(RuntimeError):
        y + cr.ones(5)
    y.sum().backward()  # the graph is intact and only has what succeeded
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_hook_returning_wrong_shape_is_refused() -> None:
    x = cr.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g[:2])
    with _raises(
        RuntimeError,
        "a hook on MulBackward0 returned a gradient of shape (2,) and dtype "
        "float32, but the gradient must have shape (3,) and dtype float32",
    ):
        y.sum().backward()


def test_index_errors_name_the_op() -> None:
    with pytest.raises(IndexError, match=re.escape("getitem(): index 5 is out of bounds")):
        cr.ones(3)[5]
    with _raises(IndexError, "sum(): dimension out of range (expected to be in range of [-2, 1], but got 2)"):
        cr.ones(2, 3).sum(2)


def test_reshape_error() -> None:
    with _raises(RuntimeError, "reshape(): shape (5, -1) is invalid for input of size 12"):
        cr.ones(3, 4).reshape(5, -1)


def test_cross_entropy_target_errors() -> None:
    with _raises(
        RuntimeError,
        "cross_entropy(): expected integer class indices as target (int64, "
        "shape (2,)) or class probabilities (float, shape (2, 3)), got dtype "
        "float32 and shape (2,)",
    ):
        cr.cross_entropy(cr.ones(2, 3), cr.ones(2))
    with _raises(IndexError, "cross_entropy(): target 7 is out of bounds for 3 classes"):
        cr.cross_entropy(cr.ones(2, 3), cr.tensor([0, 7]))


_INDEX_CALLS = {
    "gather": lambda T, x, i: T.gather(x, 1, i),
    "scatter": lambda T, x, i: x.scatter(1, i, 1.0),
    "scatter_add": lambda T, x, i: x.scatter_add(1, i, T.ones(i.shape, dtype=x.dtype)),
    "scatter_reduce": lambda T, x, i: x.scatter_reduce(1, i, T.ones(i.shape, dtype=x.dtype), "sum"),
    "take_along_dim": lambda T, x, i: T.take_along_dim(x, i, 1),
}


@pytest.mark.parametrize("index", [[[-1], [0]], [[-3], [2]], [[-4], [0]], [[3], [0]], [[2], [1]]], ids=str)
@pytest.mark.parametrize("op", list(_INDEX_CALLS))
def test_gather_and_scatter_indices_out_of_range_as_pytorch(op: str, index: list) -> None:
    """gather and the scatters refuse negative and too-large indices (PyTorch's RuntimeError,
    naming the index, the dim and its size): scatter_add wrote a -1 into the next row before.
    take_along_dim counts negative ones from the end, as PyTorch's; past -size it refuses,
    where PyTorch reads memory it does not own (index 3 of size 3 gave 0 here)."""
    from reference import need_torch

    torch = need_torch()
    call = _INDEX_CALLS[op]
    x = np.arange(6.0).reshape(2, 3)
    try:
        want = call(torch, torch.tensor(x), torch.tensor(index)).numpy()
    except RuntimeError as exc:
        want = exc
    if op == "take_along_dim" and not isinstance(want, Exception) and (np.array(index) >= 3).any():
        want = RuntimeError("index 3 is out of bounds for dimension 1 with size 3")  # see above
    if op == "take_along_dim" and not isinstance(want, Exception) and (np.array(index) < -3).any():
        want = RuntimeError("index -4 is out of bounds for dimension 1 with size 3")
    if isinstance(want, Exception):
        bad = re.search(r"index (-?\d+) is out of bounds for dimension (\d) with size (\d)", str(want))
        assert bad, want
        with pytest.raises(
            RuntimeError,
            match=rf"{op}\(\): index {bad[1]} is out of bounds for dimension "
            rf"{bad[2]} with size {bad[3]}|gather\(\): index {bad[1]}",
        ):
            call(cr, cr.tensor(x), cr.tensor(index))
    else:
        np.testing.assert_array_equal(call(cr, cr.tensor(x), cr.tensor(index)).numpy(), want)


_SLICE_CALLS = {
    "index_select": lambda T, x, i, d: x.index_select(d, i),
    "index_add": lambda T, x, i, d: x.index_add(d, i, T.ones((2, 5) if d == 0 else (3, 2), dtype=x.dtype)),
    "index_copy": lambda T, x, i, d: x.index_copy(d, i, T.ones((2, 5) if d == 0 else (3, 2), dtype=x.dtype)),
    "index_fill": lambda T, x, i, d: x.index_fill(d, i, 2.0),
}


@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("index", [[1, -2], [0, 2], [1, 5], [0, -6]], ids=str)
@pytest.mark.parametrize("op", list(_SLICE_CALLS))
def test_slice_indices_out_of_range_as_pytorch(op: str, index: list, dim: int) -> None:
    """index_select, index_add and index_copy refuse negative indices as PyTorch (with its
    exception class: index_select's depends on the dim); index_fill counts them from the end."""
    from reference import need_torch

    torch = need_torch()
    call = _SLICE_CALLS[op]
    x = np.arange(15.0).reshape(3, 5)
    if dim == 0 and max(index) < 5 and min(index) >= -5:
        index = [min(i, 2) if i >= 0 else max(i, -3) for i in index]  # the same case on a dim of 3
    try:
        want = call(torch, torch.tensor(x), torch.tensor(index), dim).numpy()
    except (RuntimeError, IndexError) as exc:
        bad = "|".join(str(i) for i in index)  # (the message names the op, the index and the dim)
        fact = rf"{op}\(\): index ({bad}) is out of (range|bounds) for dimension {dim} \w+ size \d"
        with pytest.raises(type(exc), match=fact):
            call(cr, cr.tensor(x), cr.tensor(index), dim)
        return
    np.testing.assert_array_equal(call(cr, cr.tensor(x), cr.tensor(index), dim).numpy(), want)
