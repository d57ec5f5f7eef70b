"""chainrule.jit (script, trace, save, load without pickle) and chainrule.fx (symbolic_trace,
an editable graph, generated code) on the issue's MLP and on a module with a Python loop."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import fx, jit, nn


def _mlp() -> nn.Module:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2))


class Loop(nn.Module):
    """A forward with a Python loop: traced, the loop is unrolled."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.Linear(4, 4)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        for _ in range(3):
            x = cr.tanh(self.cell(x)) + x
        return x


def _d(t: cr.Tensor) -> np.ndarray:
    return t.detach().numpy()


@pytest.mark.parametrize("make, shape", [(_mlp, (3, 512)), (Loop, (5, 4))], ids=["mlp", "loop"])
def test_script_trace_save_load(make: object, shape: tuple, tmp_path: object) -> None:
    m = make()
    x = cr.randn(*shape)
    want = _d(m(x))
    scripted = jit.script(m)
    np.testing.assert_array_equal(_d(scripted(x)), want)
    traced = jit.trace(m, (x,))
    np.testing.assert_array_equal(_d(traced(x)), want)
    path = tmp_path / "model.pt"
    scripted.save(str(path))
    with zipfile.ZipFile(path) as z:  # a graph and arrays: nothing to unpickle
        assert not any(n.endswith(".pkl") for n in z.namelist())
        ops = [n.get("prim") for n in json.loads(z.read("graph.json"))["nodes"]]
    assert ops.count("Linear") == 3  # three layers, or one layer applied three times
    loaded = jit.load(str(path))
    np.testing.assert_array_equal(_d(loaded(x)), want)
    assert list(loaded.state_dict()) == list(m.state_dict())
    loaded(x).sum().backward()  # the loaded graph runs through ops: autograd records it
    m(x).sum().backward()
    for (k, p), q in zip(m.named_parameters(), loaded.parameters()):
        np.testing.assert_allclose(_d(q.grad), _d(p.grad), rtol=1e-6, err_msg=k)
    with pytest.raises(RuntimeError, match="traced for inputs"):
        loaded(cr.randn(shape[0] + 1, shape[1]))


def test_load_refuses_what_is_not_a_graph_file(tmp_path: object) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip")
    with pytest.raises(RuntimeError, match="not a chainrule.jit file"):
        jit.load(str(bad))
    with zipfile.ZipFile(tmp_path / "other.pt", "w") as z:
        z.writestr("graph.json", json.dumps({"format": "something else"}))
    with pytest.raises(RuntimeError, match="format"):
        jit.load(str(tmp_path / "other.pt"))


def test_symbolic_trace_graph_iterates_prints_and_edits() -> None:
    m = _mlp()
    gm = fx.symbolic_trace(m)
    ops = [n.op for n in gm.graph]
    assert ops.count("placeholder") == 1 and ops.count("get_attr") == 6 and ops.count("call_function") == 5
    targets = [n.target.public for n in gm.graph if n.op == "call_function"]
    assert targets == ["linear", "relu", "linear", "relu", "linear"]
    text = str(gm.graph)
    assert "get_attr[target=0.weight]" in text and "call_function[target=relu]" in text
    assert "def forward(self, input):" in gm.code and "self._attr('4.bias')" in gm.code
    x = cr.randn(7, 512)  # another batch size: the unedited graph retraces
    np.testing.assert_array_equal(_d(gm(x)), _d(m(x)))
    for n in gm.graph:  # edit: every ReLU becomes a sigmoid
        if n.op == "call_function" and n.target.public == "relu":
            n.target = fx.primitive("Sigmoid")
    gm.recompile()
    assert "# sigmoid" in gm.code and "# relu" not in gm.code
    want = m[4](cr.sigmoid(m[2](cr.sigmoid(m[0](x)))))
    np.testing.assert_allclose(_d(gm(x)), _d(want), rtol=1e-6)
    gm(x).sum().backward()  # gradients through the edited graph, as through the eager code
    through_graph = _d(m[0].weight.grad).copy()
    m.zero_grad()
    want.sum().backward()
    np.testing.assert_allclose(through_graph, _d(m[0].weight.grad), rtol=1e-6)


def test_graph_edits_are_checked() -> None:
    gm = fx.symbolic_trace(Loop(), example_inputs=(cr.randn(2, 4),))
    nodes = list(gm.graph)
    with pytest.raises(RuntimeError, match="still had users"):
        gm.graph.erase_node(nodes[1])
    last = [n for n in nodes if n.op == "call_function"][-1]
    assert "tanh" in {n.target.public for n in nodes if n.op == "call_function"}
    with pytest.raises(RuntimeError, match="still had users"):
        gm.graph.erase_node(last)  # the output reads it


def test_compiled_graph_draws_with_viz() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        return (cr.tanh(x) * 2).sum()

    c = cr.compile(f)
    c(cr.ones(3, requires_grad=True))
    dot = cr.viz.draw(c.graph)
    src = dot.source
    assert "Tanh" in src and "grad" in src and "->" in src
