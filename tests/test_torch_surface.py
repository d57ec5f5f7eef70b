"""The compatibility contract: PyTorch-style code runs unchanged with torch meaning chainrule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "scripts" / "torch_surface.py"


def test_textbook_script_runs_unchanged(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "chainrule", "run", str(SCRIPT)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "train accuracy" in out.stdout
    assert "Linear(in_features=784, out_features=64, bias=True)" in out.stdout


def test_import_chainrule_as_torch_with_submodule_imports() -> None:
    code = (
        "import sys, chainrule as torch\n"
        "sys.modules['torch'] = torch\n"
        "from torch import nn\n"
        "from torch.nn import functional as F\n"
        "import torch.utils.data\n"
        "from torch.distributions.multinomial import Multinomial\n"
        "ds = torch.utils.data.TensorDataset(torch.ones(4, 2), torch.zeros(4))\n"
        "assert F is torch.nn.functional and nn.Linear is torch.nn.Linear\n"
        "assert isinstance(ds[0][0], torch.Tensor)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
