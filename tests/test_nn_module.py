"""``nn.Module`` behaviour: registration, iteration, state dicts, hooks, modes, dtype conversion,
reprs (identical to PyTorch's), lazy layers, containers and ``Parameter``."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
from nn_helpers import copy_weights, need_torch, np_of
from reference import torch

import chainrule as cr
from chainrule import nn


def build(T, kind: str):
    """Architectures written once against T (chainrule or torch)."""
    N = T.nn
    if kind == "mlp":
        return N.Sequential(N.Linear(4, 8), N.ReLU(), N.Dropout(0.1), N.Linear(8, 3))
    if kind == "lenet":
        return N.Sequential(
            N.Conv2d(1, 6, kernel_size=5, padding=2), N.Sigmoid(), N.AvgPool2d(kernel_size=2, stride=2),
            N.Conv2d(6, 16, kernel_size=5), N.Sigmoid(), N.AvgPool2d(kernel_size=2, stride=2),
            N.Flatten(), N.Linear(16 * 5 * 5, 120), N.Sigmoid(), N.Linear(120, 84), N.Sigmoid(),
            N.Linear(84, 10))
    if kind == "bn":
        return N.Sequential(OrderedDict([
            ("conv", N.Conv2d(3, 4, 3, bias=False)), ("bn", N.BatchNorm2d(4)), ("act", N.ReLU()),
            ("pool", N.AdaptiveAvgPool2d((1, 1))), ("flat", N.Flatten()),
            ("head", N.Sequential(N.Linear(4, 4), N.LayerNorm(4), N.Linear(4, 2)))]))
    raise ValueError(kind)


class Net:
    """A hand-written module (the textbook pattern), for chainrule or torch."""

    @staticmethod
    def make(T):
        class MLP(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = T.nn.Linear(3, 5)
                self.blocks = T.nn.ModuleList([T.nn.Linear(5, 5) for _ in range(3)] + [T.nn.Tanh()])
                self.heads = T.nn.ModuleDict({"a": T.nn.Linear(5, 2), "b": T.nn.Identity()})
                self.scale = T.nn.Parameter(T.ones(2))
                self.register_buffer("steps", T.zeros(1))
                self.register_buffer("cache", T.zeros(2), persistent=False)
                self.plain = T.ones(3)  # a plain tensor attribute: not registered

            def forward(self, x):
                x = T.relu(self.hidden(x))
                for b in self.blocks:
                    x = b(x)
                return self.heads["a"](x) * self.scale

            def extra_repr(self):
                return "custom=True"
        return MLP()


REPRS = [
    lambda T: build(T, "mlp"), lambda T: build(T, "lenet"), lambda T: build(T, "bn"), Net.make,
    lambda T: T.nn.Conv2d(1, 6, 5, padding=2),
    lambda T: T.nn.Conv2d(2, 4, (3, 2), stride=2, padding="same" if False else 1, dilation=2, groups=2,
                          bias=False, padding_mode="reflect"),
    lambda T: T.nn.Conv2d(2, 4, 3, padding="same"), lambda T: T.nn.Conv2d(2, 4, 3, padding="valid"),
    lambda T: T.nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1),
    lambda T: T.nn.Conv1d(2, 3, 3), lambda T: T.nn.ConvTranspose1d(2, 3, 3, groups=1, dilation=2),
    lambda T: T.nn.MaxPool2d(2), lambda T: T.nn.MaxPool2d(3, 1, 1, ceil_mode=True),
    lambda T: T.nn.MaxPool1d(2),
    lambda T: T.nn.AvgPool2d(2), lambda T: T.nn.AvgPool2d((2, 3), stride=1, padding=1),
    lambda T: T.nn.AdaptiveAvgPool2d((1, 1)), lambda T: T.nn.AdaptiveAvgPool2d(1),
    lambda T: T.nn.AdaptiveMaxPool2d((2, None)),
    lambda T: T.nn.BatchNorm1d(6, momentum=None, affine=False), lambda T: T.nn.BatchNorm2d(6, eps=1e-3),
    lambda T: T.nn.BatchNorm2d(6, track_running_stats=False, bias=False),
    lambda T: T.nn.LayerNorm(10), lambda T: T.nn.LayerNorm([2, 3], elementwise_affine=False),
    lambda T: T.nn.GroupNorm(2, 6), lambda T: T.nn.GroupNorm(3, 6, affine=False),
    lambda T: T.nn.Dropout(), lambda T: T.nn.Dropout(0.2, inplace=True), lambda T: T.nn.Dropout2d(0.3),
    lambda T: T.nn.Embedding(10, 3), lambda T: T.nn.Embedding(10, 3, padding_idx=0, max_norm=1.0),
    lambda T: T.nn.Flatten(), lambda T: T.nn.Flatten(0, 2), lambda T: T.nn.Unflatten(1, (2, 3)),
    lambda T: T.nn.RNN(10, 20, 2), lambda T: T.nn.RNN(3, 4, nonlinearity="relu", batch_first=True),
    lambda T: T.nn.LSTM(10, 20, batch_first=True, proj_size=5),
    lambda T: T.nn.GRU(3, 4, num_layers=2, bias=False, dropout=0.5, bidirectional=True),
    lambda T: T.nn.RNNCell(3, 4, nonlinearity="relu"), lambda T: T.nn.LSTMCell(3, 4),
    lambda T: T.nn.GRUCell(3, 4, bias=False),
    lambda T: T.nn.ReLU(), lambda T: T.nn.ReLU(inplace=True), lambda T: T.nn.ReLU6(),
    lambda T: T.nn.LeakyReLU(), lambda T: T.nn.LeakyReLU(0.2, True), lambda T: T.nn.PReLU(3),
    lambda T: T.nn.ELU(), lambda T: T.nn.SELU(), lambda T: T.nn.CELU(0.5), lambda T: T.nn.GELU(),
    lambda T: T.nn.GELU("tanh"), lambda T: T.nn.SiLU(), lambda T: T.nn.Mish(), lambda T: T.nn.Sigmoid(),
    lambda T: T.nn.Tanh(), lambda T: T.nn.Hardtanh(), lambda T: T.nn.Hardsigmoid(),
    lambda T: T.nn.Hardswish(), lambda T: T.nn.Softplus(), lambda T: T.nn.Softsign(),
    lambda T: T.nn.Softmax(dim=1), lambda T: T.nn.Softmax(), lambda T: T.nn.Softmin(0),
    lambda T: T.nn.LogSoftmax(dim=-1), lambda T: T.nn.LogSigmoid(), lambda T: T.nn.Tanhshrink(),
    lambda T: T.nn.Threshold(0.1, 20), lambda T: T.nn.GLU(),
    lambda T: T.nn.Identity(), lambda T: T.nn.Linear(20, 256, bias=False), lambda T: T.nn.Bilinear(2, 3, 4),
    lambda T: T.nn.MSELoss(), lambda T: T.nn.L1Loss(), lambda T: T.nn.CrossEntropyLoss(label_smoothing=0.1),
    lambda T: T.nn.NLLLoss(), lambda T: T.nn.BCELoss(), lambda T: T.nn.BCEWithLogitsLoss(),
    lambda T: T.nn.KLDivLoss(), lambda T: T.nn.SmoothL1Loss(), lambda T: T.nn.HuberLoss(),
    lambda T: T.nn.LazyLinear(3), lambda T: T.nn.LazyConv2d(4, 3), lambda T: T.nn.LazyBatchNorm2d(),
    lambda T: T.nn.ModuleList([T.nn.Linear(2, 2) for _ in range(3)]
                              + [T.nn.ReLU(), T.nn.ReLU(), T.nn.Tanh()]),
    lambda T: T.nn.ModuleList(), lambda T: T.nn.Sequential(),
    lambda T: T.nn.ModuleDict({"a": T.nn.Linear(1, 1), "b": T.nn.Sequential(T.nn.ReLU())}),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_is_pytorchs(i: int) -> None:
    need_torch()
    assert repr(REPRS[i](cr)) == repr(REPRS[i](torch))


def test_parameter_list_and_dict_reprs() -> None:
    need_torch()
    for T in (cr, torch):
        pl = T.nn.ParameterList([T.nn.Parameter(T.ones(2, 3)), T.nn.Parameter(T.ones(4))])
        pd = T.nn.ParameterDict({"a": T.nn.Parameter(T.ones(2))})
        text = repr(pl) + repr(pd)
        if T is cr:
            ours = text
    assert ours == text.replace("torch.", "chainrule.")
    pl = cr.nn.ParameterList([cr.ones(2, 3), cr.nn.Parameter(cr.ones(4))])
    assert len(pl) == 2 and all(type(p) is cr.nn.Parameter for p in pl)
    assert [n for n, _ in cr.nn.ParameterList([cr.ones(1)]).named_parameters()] == ["0"]


def test_registration_by_attribute_and_plain_tensors_are_not_registered() -> None:
    need_torch()
    ours, ref = Net.make(cr), Net.make(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in ref.named_children()]
    assert list(ours.state_dict()) == list(ref.state_dict())  # 'cache' is not persistent
    assert "plain" not in dict(ours.named_buffers()) and isinstance(ours.plain, cr.Tensor)
    assert len(list(ours.parameters(recurse=False))) == 1
    assert [n for n, _ in ours.named_parameters(prefix="m", recurse=False)] == ["m.scale"]
    assert [n for n, _ in ours.blocks.named_parameters(prefix="blocks")][0] == "blocks.0.weight"
    del ours.scale
    assert "scale" not in dict(ours.named_parameters())
    ours.scale = cr.ones(2)  # now a plain attribute
    assert "scale" not in dict(ours.named_parameters())
    ours.hidden = None
    assert "hidden" not in dict(ours.named_children()) and ours.hidden is None
    with pytest.raises(TypeError, match="cannot assign 'chainrule.FloatTensor' as parameter 'weight'"):
        ours.blocks[0].weight = cr.zeros(5, 5)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'heads'"):
        ours.heads = 3


def test_registration_errors_match_pytorch() -> None:
    m = nn.Linear(2, 3)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", cr.zeros(1))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="buffer name should be a string. Got int"):
        m.register_buffer(1, None)
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'x'"):
        m.register_buffer("x", 3)
    with pytest.raises(TypeError, match=r"to parameter 'p' \(chainrule.nn.Parameter or None required\)"):
        m.register_parameter("p", cr.zeros(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("w", 3)
    with pytest.raises(KeyError, match=r'module name can.*t contain "\.", got: a\.b'):
        m.add_module("a.b", nn.ReLU())

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
        Forgot()
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        nn.Module()(1)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        _ = m.foo


def test_shared_parameters_are_listed_once() -> None:
    need_torch()
    for T in (cr, torch):
        shared = T.nn.Linear(3, 3)
        net = T.nn.Sequential(shared, T.nn.ReLU(), shared, T.nn.Linear(3, 3))
        net[3].weight = net[0].weight  # tied weights
        names = [n for n, _ in net.named_parameters()]
        all_names = [n for n, _ in net.named_parameters(remove_duplicate=False)]
        keys = list(net.state_dict())
        mods = [n for n, _ in net.named_modules()]
        if T is cr:
            ours = (names, all_names, keys, mods, len(list(net.parameters())))
    assert ours == (names, all_names, keys, mods, len(list(net.parameters())))
    assert ours[-1] == 3


def test_state_dict_round_trip() -> None:
    cr.manual_seed(0)
    a, b = build(cr, "bn"), build(cr, "bn")
    a(cr.randn(2, 3, 5, 5))  # moves running stats
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict)
    assert "bn.running_mean" in sd and sd["bn.num_batches_tracked"].item() == 1
    assert all(not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["conv.weight"].numpy(), a.conv.weight._data)
    assert a.state_dict(keep_vars=True)["conv.weight"] is a.conv.weight
    assert list(a.state_dict(prefix="model."))[0] == "model.conv.weight"
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    x = cr.randn(2, 3, 5, 5)
    a.eval()
    b.eval()
    np.testing.assert_array_equal(np_of(a(x)), np_of(b(x)))
    w = b.conv.weight
    b.load_state_dict(build(cr, "bn").state_dict())
    assert b.conv.weight is w  # loaded in place: optimizers keep their references


def test_state_dict_keys_and_values_interchange_with_torch() -> None:
    need_torch()
    torch.manual_seed(0)
    ref = build(torch, "lenet")
    ours = build(cr, "lenet")
    assert list(ours.state_dict()) == list(ref.state_dict())
    copy_weights(ref, ours)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(np_of(ours(cr.tensor(x))), np_of(ref(torch.from_numpy(x))), rtol=1e-4,
                               atol=1e-5)


def _torch_message(fn) -> str:
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


def test_load_state_dict_errors_are_pytorchs_messages() -> None:
    need_torch()
    bad = [
        lambda T: {"weight": T.zeros(3, 2)},  # missing bias
        lambda T: {"weight": T.zeros(3, 2), "bias": T.zeros(3), "extra": T.zeros(1), "x.y": T.zeros(1)},
        lambda T: {"weight": T.zeros(3, 3), "bias": T.zeros(2)},  # two size mismatches
        lambda T: {"weight": T.zeros(2, 2), "junk": T.zeros(1)},  # all three kinds at once
    ]
    for make in bad:
        ref = _torch_message(lambda: torch.nn.Linear(2, 3).load_state_dict(make(torch)))
        ours = _torch_message(lambda: nn.Linear(2, 3).load_state_dict(make(cr)))
        assert ours == ref.replace("torch.Size", "chainrule.Size")
        assert "Error(s) in loading state_dict for Linear" in ours
    nested = _torch_message(lambda: build(cr, "bn").load_state_dict({}))
    assert nested == _torch_message(lambda: build(torch, "bn").load_state_dict({}))
    for T in (cr, torch):
        res = T.nn.Linear(2, 3).load_state_dict({"weight": T.zeros(3, 2), "extra": T.zeros(1)}, strict=False)
        if T is cr:
            ours = (res.missing_keys, res.unexpected_keys, repr(res))
    assert ours == (res.missing_keys, res.unexpected_keys, repr(res))
    with pytest.raises(RuntimeError, match="size mismatch for weight"):  # even when not strict
        nn.Linear(2, 3).load_state_dict({"weight": cr.zeros(1)}, strict=False)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        nn.Linear(2, 3).load_state_dict([1, 2])


def test_load_state_dict_assign_replaces_the_parameters() -> None:
    m = nn.Linear(2, 3)
    new_w = cr.ones(3, 2)
    m.load_state_dict({"weight": new_w, "bias": cr.zeros(3)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert np.shares_memory(m.weight._data, new_w._data)


def test_hooks() -> None:
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", out.shape)) or out + 1)
    m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
    out = m(cr.randn(3, 2))
    np.testing.assert_allclose(np_of(out), np_of(m.bias.detach() + 1).reshape(1, 2).repeat(3, 0), rtol=1e-6)
    assert calls == ["first", ("post", (3, 2))]
    h1.remove()
    h2.remove()
    h2.remove()  # twice is harmless
    x = cr.randn(3, 2)
    np.testing.assert_allclose(np_of(m(x)), np_of(nn.functional.linear(x, m.weight, m.bias)), rtol=1e-6)

    def kw_pre(mod, args, kwargs):
        return args, {"hx": None}

    rnn = nn.RNN(2, 3)
    rnn.register_forward_pre_hook(kw_pre, with_kwargs=True)
    seen = []
    rnn.register_forward_hook(lambda mod, args, kwargs, out: seen.append(sorted(kwargs)), with_kwargs=True)
    rnn(cr.randn(4, 1, 2), hx=cr.ones(1, 1, 3))
    assert seen == [["hx"]]


def test_train_eval_apply_zero_grad_requires_grad() -> None:
    net = build(cr, "mlp")
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train(1)
    order = []
    assert net.apply(lambda m: order.append(type(m).__name__)) is net
    assert order == ["Linear", "ReLU", "Dropout", "Linear", "Sequential"]
    net(cr.randn(2, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(np.all(np_of(p.grad) == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())


def test_dtype_conversion_keeps_parameter_objects() -> None:
    net = build(cr, "bn")
    w = net.conv.weight
    net(cr.randn(2, 3, 5, 5)).sum().backward()
    assert net.double() is net
    assert net.conv.weight is w and w.dtype == cr.float64 and w.grad.dtype == cr.float64
    assert net.bn.running_mean.dtype == cr.float64 and net.bn.num_batches_tracked.dtype == cr.int64
    assert net(cr.randn(2, 3, 5, 5, dtype=cr.float64)).dtype == cr.float64
    assert net.to(cr.float32).conv.weight.dtype == cr.float32
    assert net.half().conv.weight.dtype == cr.float16
    assert net.float().to("cpu").to(cr.device("cpu")).cpu() is net
    assert net.to(cr.zeros(1, dtype=cr.float64)).conv.weight.dtype == cr.float64
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        net.to(cr.int64)
    with pytest.raises(RuntimeError, match="not available"):
        net.to("cuda")


def test_get_submodule_parameter_buffer_and_dir() -> None:
    net = build(cr, "bn")
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_submodule("") is net
    assert net.get_parameter("head.0.weight") is net.head[0].weight
    assert net.get_buffer("bn.running_var") is net.bn.running_var
    with pytest.raises(AttributeError, match="Sequential has no attribute `nope`"):
        net.get_submodule("head.nope")
    with pytest.raises(AttributeError, match="`running_mean` is not an nn.Parameter"):
        net.get_parameter("bn.running_mean")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("bn.weight")
    assert {"conv", "bn", "head", "forward"} <= set(dir(net))
    assert "weight" in dir(net.conv) and "running_mean" in dir(net.bn)


def test_lazy_layers_become_concrete_and_keep_their_parameters() -> None:
    need_torch()
    for T in (cr, torch):
        lin = T.nn.LazyLinear(3)
        assert isinstance(lin.weight, T.nn.parameter.UninitializedParameter)
        before = repr(lin)
        w = lin.weight
        lin(T.ones(5, 7))
        assert type(lin) is T.nn.Linear and lin.weight is w and type(w) is T.nn.Parameter
        assert tuple(lin.weight.shape) == (3, 7) and lin.in_features == 7
        if T is cr:
            ours = (before, repr(lin))
    assert ours == (before, repr(lin))
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        _ = cr.nn.LazyLinear(3).weight.shape
    assert repr(cr.nn.LazyLinear(3).weight) == "<UninitializedParameter>"


def test_lazy_conv_and_batchnorm_and_shared_lazy_layer() -> None:
    conv, bn = nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d()
    out = bn(conv(cr.randn(2, 5, 6, 6)))
    assert type(conv) is nn.Conv2d and conv.in_channels == 5 and conv.weight.shape == (4, 5, 3, 3)
    assert type(bn) is nn.BatchNorm2d and bn.num_features == 4 and bn.running_var.shape == (4,)
    assert out.shape == (2, 4, 6, 6) and bn.num_batches_tracked.item() == 1
    shared = nn.LazyLinear(4)
    net = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), shared, nn.ReLU(), shared)
    net(cr.randn(2, 3))
    assert len(list(net.parameters())) == 4 and net[2].weight is net[4].weight
    fresh = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(4))
    fresh.load_state_dict(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4)).state_dict())
    assert fresh[0].weight.shape == (4, 3)
    fresh(cr.randn(1, 3))
    assert type(fresh[0]) is nn.Linear and fresh[0].in_features == 3


def test_lazy_conv1d_and_conv_transpose_infer_in_channels_like_torch() -> None:
    """The in_channels, weight shape and groups read from the first input agree with PyTorch's."""
    need_torch()
    res = {}
    for T in (cr, torch):
        c1 = T.nn.LazyConv1d(4, 3, groups=2, bias=False)
        ct = T.nn.LazyConvTranspose2d(4, 3, stride=2, groups=2)
        outs = (c1(T.ones(2, 6, 9)), ct(T.ones(1, 6, 5, 5)))
        res[T] = ([type(m).__name__ for m in (c1, ct)], [repr(m) for m in (c1, ct)],
                  [tuple(m.weight.shape) for m in (c1, ct)], [tuple(o.shape) for o in outs],
                  ct.bias is not None and tuple(ct.bias.shape), c1.bias)
    assert res[cr] == res[torch]
    assert res[cr][0] == ["Conv1d", "ConvTranspose2d"] and res[cr][2] == [(4, 3, 3), (6, 2, 3, 3)]


def test_parameter() -> None:
    t = cr.ones(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert np.shares_memory(p._data, t._data)
    assert repr(p).startswith("Parameter containing:\ntensor([[1., 1., 1.],")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert type(p * 2) is cr.Tensor  # results of ops are plain tensors
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="expects a Tensor"):
        nn.Parameter([1.0])
    net = build(cr, "mlp")
    clone = copy.deepcopy(net)
    assert type(clone[0].weight) is nn.Parameter
    clone[0].weight.data.mul_(0)
    assert np.any(np_of(net[0].weight) != 0)


def test_sequential_and_module_list_and_dict() -> None:
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"] and sub[0] is layers[1]
    x = cr.randn(4, 2)
    np.testing.assert_array_equal(np_of(seq(x)), np_of(layers[2](layers[1](layers[0](x)))))
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is layers[2]
    seq.insert(1, nn.Tanh())
    assert isinstance(seq[1], nn.Tanh) and len(seq) == 4
    assert isinstance(seq.pop(1), nn.Tanh) and len(seq + nn.Sequential(nn.ReLU())) == 4
    with pytest.raises(IndexError, match="out of range"):
        seq[7]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert named.fc is named[0]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh"]
    assert len(ml[1:3]) == 2 and len(list(ml.parameters())) == 2
    with pytest.raises(NotImplementedError):
        ml(1)
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Tanh()
    md.update([("c", nn.Identity())])
    assert list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert isinstance(md.pop("a"), nn.ReLU) and list(md) == ["b", "c"]


def test_textbook_training_loop_learns() -> None:
    """A hand-written module trained with plain SGD on a separable problem reaches ~100% accuracy."""
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR-like quadrants: needs the hidden layer
    X, Y = cr.tensor(x), cr.tensor(y)
    net = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(300):
        loss = loss_fn(net(X), Y)
        net.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in net.parameters():
                p -= 0.5 * p.grad
    acc = (net(X).argmax(1) == Y).float().mean().item()
    assert acc > 0.95, acc


def test_lazy_state_dict_keeps_placeholders_and_loads_into_lazy() -> None:
    lazy = nn.Sequential(nn.LazyLinear(2))
    sd = lazy.state_dict()
    assert isinstance(sd["0.weight"], nn.UninitializedParameter)
    other = nn.Sequential(nn.LazyLinear(2))
    other.load_state_dict(sd)  # nothing to copy: both stay lazy
    assert isinstance(other[0].weight, nn.UninitializedParameter)
    other(cr.randn(1, 3))
    assert other[0].weight.shape == (2, 3)
