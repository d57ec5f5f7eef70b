"""The shared PyTorch guard (tests/reference.py): without PyTorch, CI fails and a developer's
run skips; it never skips silently in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
HIDE_TORCH = "import sys; sys.modules['torch'] = None; sys.path.insert(0, %r); " % str(TESTS)


def _run(code: str, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-c", HIDE_TORCH + code], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_ci_without_torch_fails_at_import(ci: str) -> None:
    proc = _run("import reference", ci)
    assert proc.returncode != 0
    assert "ImportError: PyTorch 2.13 must be installed in CI" in proc.stderr
    assert 'pip install "chainrule[reference]"' in proc.stderr


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_outside_ci_a_torch_test_skips(ci: str | None) -> None:
    proc = _run(
        "import reference, _pytest.outcomes as o\n"
        "try:\n    reference.need_torch()\nexcept o.Skipped as e:\n    print('skipped', e)\n",
        ci,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("skipped PyTorch not installed"), proc.stdout


def test_with_torch_the_guard_returns_it() -> None:
    from reference import need_torch

    torch = need_torch()
    assert torch.__version__.startswith("2.13")
