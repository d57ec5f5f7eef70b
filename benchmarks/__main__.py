"""Run benchmarks, one fresh process per (workload, library), and report ratios.

    python -m benchmarks                 # everything, writes docs/benchmarks.md
    python -m benchmarks overhead        # a selection, printed only
    python -m benchmarks memory_curves   # a report section (see workload.register_section)
    python -m benchmarks --one overhead chainrule   # internal: time one in this process

Libraries that are not installed (JAX, HIPS autograd, even PyTorch) are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .workload import REGISTRY, SECTIONS

THREADS = os.environ.get("CHAINRULE_BENCH_THREADS", "2")  # BLAS/torch threads (--threads)
_MODULES = ["benchmarks.core", "benchmarks.training", "benchmarks.transforms", "benchmarks.memory",
            "benchmarks.saved", "benchmarks.data_workers", "benchmarks.compile",
            "benchmarks.linalg"]


def _load() -> None:
    import importlib

    for m in _MODULES:
        try:
            importlib.import_module(m)
        except ModuleNotFoundError as exc:
            if exc.name != m:
                raise


def _time_one(workload: str, lib: str) -> dict:
    w = REGISTRY[workload]
    if lib.startswith("torch"):
        import torch

        torch.set_num_threads(int(THREADS))
    step = w.libs[lib]()
    if w.measure == "rss":  # one run in this fresh process; the peak includes imports
        import resource

        step()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        return {"median": peak, "min": peak, "repeats": 1}
    for _ in range(w.warmup):
        step()
    times = []
    for _ in range(w.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"median": statistics.median(times), "min": min(times), "repeats": len(times)}


_MODULE_OF = {"torch": "torch", "torch-compile": "torch", "jax": "jax", "autograd": "autograd"}


def _installed(lib: str) -> bool:
    import importlib.util

    mod = _MODULE_OF.get(lib)
    return mod is None or importlib.util.find_spec(mod) is not None


def _fresh(*args: str, label: str) -> Any:
    """Run ``python -m benchmarks ARGS`` in a fresh process; its stdout's last line is the JSON
    result (None if it failed: then its stderr is shown)."""
    # BLAS threads for NumPy (OpenBLAS); PyTorch gets torch.set_num_threads() in the child.
    # Setting OMP_NUM_THREADS or MKL_NUM_THREADS as well makes PyTorch's per-op overhead on
    # small tensors 1.3-2x worse here, which would flatter chainrule.
    env = dict(os.environ, OPENBLAS_NUM_THREADS=THREADS, MPLBACKEND="Agg", CHAINRULE_BENCH_THREADS=THREADS)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "benchmarks", *args], capture_output=True, text=True,
                          env=env, cwd=root)
    if proc.returncode != 0:
        print(f"  {label} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import numpy as np

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        blas = deps.get("blas", {}).get("name", "unknown")
    except Exception:  # noqa: BLE001 - older NumPy: keep "unknown"
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for lib in ("torch", "jax", "autograd"):  # the optional comparison libraries
        if _installed(lib):
            import importlib
            import importlib.metadata

            try:
                versions[lib] = importlib.metadata.version(lib)
            except importlib.metadata.PackageNotFoundError:
                versions[lib] = getattr(importlib.import_module(lib), "__version__", "?")
    import chainrule

    versions["chainrule"] = chainrule.__version__
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": THREADS, "blas": blas, "versions": versions}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("workloads", nargs="*", help="names to run (default: all)")
    ap.add_argument("--one", nargs=2, metavar=("WORKLOAD", "LIB"), help=argparse.SUPPRESS)
    ap.add_argument("--section", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None,
                    help="markdown report (default docs/benchmarks.md when running all)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="fresh processes per library, interleaved across libraries; the median is "
                         "reported (default 3): this machine's speed drifts, so one run each misleads")
    ap.add_argument("--threads", default=None, help="BLAS and PyTorch threads (default 2)")
    args = ap.parse_args(argv)
    if args.threads:
        global THREADS
        THREADS = str(int(args.threads))
    _load()
    if args.one:
        print(json.dumps(_time_one(*args.one)))
        return 0
    if args.section:
        lines = SECTIONS[args.section]()
        print(json.dumps(lines))
        return 0
    names = args.workloads or list(REGISTRY) + list(SECTIONS)
    sections = [n for n in names if n in SECTIONS]
    names = [n for n in names if n not in SECTIONS]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        ap.error(f"unknown workloads {unknown}; known: {sorted(REGISTRY)}")
    rows = []
    for name in names:
        w = REGISTRY[name]
        print(f"{name}: {w.description}")
        libs = [lib for lib in w.libs if _installed(lib)]
        for lib in w.libs:
            if lib not in libs:
                print(f"  {lib:10s} not installed, skipped")
        runs: dict[str, list[float]] = {lib: [] for lib in libs}
        for _ in range(max(1, args.rounds)):
            for lib in libs:  # interleaved, so slow spells of the machine hit every library
                r = _fresh("--one", name, lib, label=f"{name}/{lib}")
                if r is not None:
                    runs[lib].append(r["median"])
        results = {}
        for lib, times in runs.items():
            if times:
                results[lib] = w.report(statistics.median(times))
                spread = sorted(w.report(t) for t in times)
                print(f"  {lib:10s} {results[lib]:10.3f} {w.unit}   (runs: "
                      + ", ".join(f"{v:.3g}" for v in spread) + ")")
        ref = results.get("torch")
        for lib, v in results.items():
            if ref and lib != "torch":
                ratio = (ref / v) if w.rate else (v / ref)
                what = "memory" if w.measure == "rss" else "time"
                print(f"  {lib} / torch {what} ratio: {ratio:.2f}x")
        tc, cc = results.get("torch-compile"), results.get("chainrule-compile")
        if tc and cc:
            ratio = (tc / cc) if w.rate else (cc / tc)
            print(f"  chainrule-compile / torch-compile time ratio: {ratio:.2f}x")
        rows.append((w, results))
    extra: list[str] = []
    for name in sections:
        print(f"{name}:")
        lines = _fresh("--section", name, label=f"section {name}")
        if lines:
            extra += lines
            if args.workloads:
                print("\n".join(lines))
    out = args.out or ("docs/benchmarks.md" if not args.workloads else None)
    if out:
        _write(Path(out), rows, extra)
        print(f"wrote {out}")
    return 0


def _write(path: Path, rows: list, extra: list[str] | None = None) -> None:
    m = machine()
    lines = [
        "# Benchmarks",
        "",
        "Produced by `python -m benchmarks`: each library runs in fresh processes (warm-up, then the "
        "median of repeats), several rounds interleaved across libraries, and the median round is "
        f"reported; {m['threads']} threads. Ratios are chainrule's time (or peak memory) over "
        "PyTorch's (lower is better).",
        "",
        f"- CPU: {m['cpu']} ({m['cores']} cores visible)",
        f"- BLAS: {m['blas']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- Date: {time.strftime('%Y-%m-%d')}",
        "",
        "| workload | unit | chainrule | torch | other | chainrule/torch time | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for w, res in rows:
        cr, th = res.get("chainrule"), res.get("torch")
        other = ", ".join(f"{k} {v:.3g}" for k, v in res.items() if k not in ("chainrule", "torch"))
        ratio = ""
        if cr and th:
            ratio = f"{(th / cr) if w.rate else (cr / th):.2f}x"
        lines.append(f"| {w.name} | {w.unit} | {cr:.3g} | {th:.3g} | {other} | {ratio} | {w.target} |"
                     if cr and th else f"| {w.name} | {w.unit} | {cr} | {th} | {other} | | {w.target} |")
    lines += ["", "Workloads:", ""] + [f"- **{w.name}**: {w.description}" for w, _ in rows]
    if extra:
        lines += [""] + extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
