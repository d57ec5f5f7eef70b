"""Loading a 100 MB float32 state_dict: chainrule.load vs torch.load, .pt and .safetensors.

    flock /tmp/bench.lock python -m benchmarks.checkpoint_load

The files are written once (25 tensors of 1M float32 = 100 MB), then each loader runs in
this process, best of ``REPEATS``; the files sit in the page cache for every loader alike.
"load" is the call alone; "+ read" also sums every tensor, which for a memory-mapped load is
where the pages are actually read.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPEATS = 7
N_TENSORS, NUMEL = 25, 1_000_000


def _best(fn, touch) -> tuple[float, float]:
    load, total = [], []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        sd = fn()
        t1 = time.perf_counter()
        for v in sd.values():
            touch(v)
        t2 = time.perf_counter()
        load.append(t1 - t0)
        total.append(t2 - t0)
        del sd
    return min(load), min(total)


def main() -> None:
    import torch
    from safetensors.torch import load_file as st_load_file
    from safetensors.torch import save_file as st_save_file

    import chainrule

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    sd = {
        f"layer{i}.weight": torch.from_numpy(rng.standard_normal(NUMEL, dtype=np.float32).reshape(1000, 1000))
        for i in range(N_TENSORS)
    }
    with tempfile.TemporaryDirectory() as tmp:
        pt, sf = Path(tmp) / "model.pt", Path(tmp) / "model.safetensors"
        torch.save(sd, pt)
        st_save_file(sd, str(sf))
        mb = pt.stat().st_size / 1e6
        t_touch = lambda v: float(v.sum())  # noqa: E731
        c_touch = lambda v: float(v._data.sum())  # noqa: E731
        rows = [
            ("torch.load(.pt, weights_only=True)", lambda: torch.load(pt, weights_only=True), t_touch),
            ("torch.load(.pt, mmap=True)", lambda: torch.load(pt, weights_only=True, mmap=True), t_touch),
            ("chainrule.load(.pt)", lambda: chainrule.load(pt), c_touch),
            ("chainrule.load(.pt, mmap=True)", lambda: chainrule.load(pt, mmap=True), c_touch),
            ("safetensors.torch.load_file", lambda: st_load_file(str(sf)), t_touch),
            ("chainrule.load(.safetensors)", lambda: chainrule.load(sf), c_touch),
        ]
        results = {name: _best(fn, touch) for name, fn, touch in rows}
    base_load, base_total = results["torch.load(.pt, weights_only=True)"]
    print(
        f"state_dict of {N_TENSORS} x {NUMEL} float32 ({mb:.0f} MB), best of {REPEATS}, "
        f"python {sys.version.split()[0]}"
    )
    print(f"{'loader':40s} {'load ms':>9s} {'ratio':>6s} {'+read ms':>9s} {'ratio':>6s}")
    for name, (load, total) in results.items():
        print(
            f"{name:40s} {load * 1e3:9.1f} {load / base_load:6.2f} "
            f"{total * 1e3:9.1f} {total / base_total:6.2f}"
        )


if __name__ == "__main__":
    main()
