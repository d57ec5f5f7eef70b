"""Every public PyTorch name, in the namespaces a PyTorch program reaches, is provided by chainrule
or is on a short, reasoned list of deliberate omissions kept here.

The names are PyTorch 2.13's: ``torch.__all__`` for ``torch``, the public ``dir()`` of
``torch.Tensor``, ``torch.linalg``, ``torch.fft``, ``torch.special``, ``torch.distributions`` and
``torch.optim``.  A name is provided when chainrule's counterpart has the attribute; what the
provided names compute is checked against PyTorch elsewhere (the op table's generated tests,
``test_public_names_values.py``).

The omissions are categories (a pattern and a reason each), then single names with a reason.
No pattern may cover a name an ordinary PyTorch program calls; ``NOT_YET`` lists the names that
should exist but need more than this round could do honestly.
"""

from __future__ import annotations

import re

import pytest
from reference import need_torch

# (namespaces, pattern, reason): a name matching the whole pattern in one of the namespaces
# ("*" = all of them) is deliberately not provided.
CATEGORIES: list[tuple[str, str, str]] = [
    (
        "torch",
        r"\w+Type|Script\w*|parse_\w+|import_ir_module\w*|merge_type_from_type_comment|unify_type_list"
        r"|AliasDb|Argument|ArgumentSpec|Block|CallStack|Capsule|Code|CompilationUnit|CompleteArgumentSpec"
        r"|ConcreteModuleType\w*|DeepCopyMemoTable|ErrorReport|ExecutionPlan|FileCheck|FunctionSchema|Future"
        r"|Gradient|Graph|GraphExecutorState|IODescriptor|JITException|LiteScriptModule|LockingLogger"
        r"|NoopLogger|Node|StaticModule|TracingState|Type|Use|Value|AVG|SUM|BufferDict|ModuleDict"
        r"|ParameterDict|OperatorInfo|Tag|fork|wait|PyTorchFile(Reader|Writer)|\w+StorageContext|cpp"
        r"|BenchmarkConfig|BenchmarkExecutionStats|ThroughputBenchmark",
        "TorchScript / JIT internals: its IR, type system, serializer, futures and C++ runtime; "
        "chainrule's compiler is chainrule.compile (and jit.trace/jit.script there)",
    ),
    (
        "Tensor",
        r"name|output_nr",
        "TorchScript / autograd-graph internals (a traced value's debug name, an output's index in "
        "its C++ node)",
    ),
    (
        "torch",
        r"DispatchKey\w*|ExcludeDispatchKeyGuard|DisableTorchFunction\w*",
        "the C++ dispatcher and the __torch_function__ override machinery: chainrule has no "
        "dispatcher to configure",
    ),
    ("Tensor", r"as_subclass|index", "tensor-subclass and first-class-dimension (functorch.dim) machinery"),
    (
        "*",
        r"(cudnn|miopen|mkldnn|fbgemm)_\w*|to_mkldnn|Stream|Event|record_stream|pin_memory|is_pinned"
        r"|(get|set)_autocast_gpu_dtype",
        "CUDA / cuDNN / MIOpen / oneDNN (MKLDNN) / FBGEMM backends, device streams, events and pinned "
        "host memory: chainrule runs on one synchronous CPU device",
    ),
    (
        "*",
        r"xpu|(\w+_)?(ipu|mtia|maia|xla|vulkan)(_\w+)?",
        "other accelerators (XPU, IPU, MTIA, MAIA, XLA, Vulkan) and their queries",
    ),
    (
        "*",
        r"q_\w+|q(u)?int\w+|qscheme|(fake_)?quantize\w*|quantized_\w+|dequantize|int_repr"
        r"|empty_quantized|choose_qparams_optimized|fused_moving_avg_obs_fake_quant",
        "quantization: quantized dtypes, tensors and kernels",
    ),
    (
        "*",
        r"sparse_\w+|to_sparse\w*|\w*(crow|ccol|row|col)_indices(_copy)?|(indices|values)(_copy)?"
        r"|coalesce|is_coalesced|dense_dim|sparse_dim|is_sparse_csr|d?h?smm|h?spmm|s?saddmm|sspaddmm"
        r"|resize_as_sparse_|sparse_mask|SparseAdam",
        "sparse layouts (COO, CSR, CSC, BSR, BSC) and their kernels and optimizer: chainrule "
        "tensors are dense (torch.strided)",
    ),
    ("torch", r"Sym\w+|sym_\w+", "symbolic shapes (torch.compile's dynamic-shape tracing)"),
    (
        "*",
        r"\w*Storage|is_storage|storage|storage_type|untyped_storage|set_|is_set_to|share_memory_"
        r"|is_shared",
        "typed and untyped storages, and tensors re-pointed at or shared through them: a chainrule "
        "tensor owns a NumPy array, not a Storage",
    ),
    (
        "torch",
        r"bits\w+|bit|u?int[1-7]|float8_\w+|float4_\w+|complex32|chalf",
        "dtypes NumPy cannot hold (sub-byte integers, bit fields, 8- and 4-bit floats, complex32)",
    ),
    ("Tensor", r"chalf", "complex32 (NumPy has no half-precision complex)"),
    ("Tensor", r"is_nested|to_padded_tensor", "nested (jagged) tensors"),
    (
        "*",
        r"native_\w+|batch_norm_(stats|elemt|backward_\w+|gather_stats\w*|update_stats)"
        r"|norm_except_dim|embedding_renorm_|slice_inverse|conv_tbc|affine_grid_generator"
        r"|grid_sampler(_[23]d)?|autocast_(in|de)crement_nesting|clear_autocast_cache",
        "ATen's internal entry points, which PyTorch's own Python layers call (the public functions "
        "they implement are provided, e.g. torch.layer_norm, F.batch_norm)",
    ),
    (
        "Tensor",
        r"eig|symeig|lstsq|solve|reinforce|volatile",
        "removed from PyTorch: calling them raises there (their replacements are linalg.eig, "
        "linalg.eigh, linalg.lstsq, linalg.solve, distributions)",
    ),
    ("*", r"is_distributed", "the legacy THD distributed tensor flag"),
    (
        "fft",
        r"common_args|factory_common_args|torch",
        "documentation helpers and imports inside the reference's module, not API",
    ),
    (
        "special",
        r"common_args|multi_dim_common|torch|Tensor",
        "documentation helpers and imports inside the reference's module, not API",
    ),
    ("linalg", r"common_notes", "a documentation helper inside the reference's module, not API"),
]

# Single names deliberately not provided, with the reason.
EXPLICIT: dict[str, dict[str, str]] = {
    "torch": {
        "FatalError": "an error class of PyTorch's C++ runtime (unrecoverable internal failures)",
        "export": "torch.export, ahead-of-time whole-program capture for deployment (ExportedProgram); "
        "chainrule.compile traces and jit/fx cover the in-process uses",
    },
}

# Names that should be provided and are not yet: what each needs.
NOT_YET: dict[str, dict[str, str]] = {
    "torch": {},
    "Tensor": {},
    "linalg": {},
    "fft": {},
    "special": {},
    "distributions": {},
    "optim": {},
}


def _reference() -> dict[str, tuple[list[str], object]]:
    torch = need_torch()
    import chainrule.distributions
    import chainrule.optim

    def public(m: object) -> list[str]:
        return sorted(n for n in dir(m) if not n.startswith("_"))

    return {
        "torch": (sorted(torch.__all__), chainrule),
        "Tensor": (public(torch.Tensor), chainrule.Tensor),
        "linalg": (public(torch.linalg), chainrule.linalg),
        "fft": (public(torch.fft), chainrule.fft),
        "special": (public(torch.special), chainrule.special),
        "distributions": (public(torch.distributions), chainrule.distributions),
        "optim": (public(torch.optim), chainrule.optim),
    }


def _omitted(space: str, name: str) -> str | None:
    for spaces, pattern, reason in CATEGORIES:
        if (spaces == "*" or space in spaces.split("|")) and re.fullmatch(pattern, name):
            return reason
    return EXPLICIT.get(space, {}).get(name) or NOT_YET[space].get(name)


NAMESPACES = ["torch", "Tensor", "linalg", "fft", "special", "distributions", "optim"]


@pytest.mark.parametrize("space", NAMESPACES)
def test_every_public_name_is_provided_or_omitted_with_a_reason(space: str) -> None:
    names, ours = _reference()[space]
    missing = [n for n in names if not hasattr(ours, n) and _omitted(space, n) is None]
    assert not missing, f"{len(missing)} names of {space} neither provided nor omitted: {' '.join(missing)}"


@pytest.mark.parametrize("space", NAMESPACES)
def test_omissions_name_only_what_is_missing(space: str) -> None:
    """A provided name is never also listed as omitted, and a NOT_YET entry names a real name:
    the lists shrink as names arrive."""
    names, ours = _reference()[space]
    listed = {**EXPLICIT.get(space, {}), **NOT_YET[space]}
    both = [n for n in names if hasattr(ours, n) and n in listed]
    assert not both, f"provided but still listed as omitted in {space!r}: {both}"
    unknown = sorted(set(listed) - set(names))
    assert not unknown, f"omitted names of {space!r} that PyTorch does not have: {unknown}"
    for reason in NOT_YET[space].values():
        assert reason.startswith("not yet: "), reason


def test_each_category_covers_a_name_and_no_everyday_one() -> None:
    """A category that matches nothing is stale; one that matches a name chainrule provides
    would be hiding it were it removed, so it is too broad."""
    ref = _reference()
    for spaces, pattern, _ in CATEGORIES:
        hits, provided = [], []
        for space in NAMESPACES:
            if spaces != "*" and space not in spaces.split("|"):
                continue
            names, ours = ref[space]
            for n in names:
                if re.fullmatch(pattern, n):
                    (provided if hasattr(ours, n) else hits).append(f"{space}.{n}")
        assert hits, f"category {pattern[:60]!r} matches no missing name"
        assert not provided, f"category {pattern[:60]!r} also matches provided names: {provided}"
