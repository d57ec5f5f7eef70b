"""``chainrule tour``: the chain rule and autograd, worked through in the terminal.

Part of the course the library follows: the two chain-rule examples with their
shapes, the backward result next to the closed form, then the autograd API
walk-through (accumulation, non-scalar outputs, detach, control flow).
"""

from __future__ import annotations

import argparse
from typing import Callable

import chainrule as cr

from .cli import COMMANDS

__all__ = ["chain_rule_examples", "autograd_walkthrough", "run"]


def _close(a: cr.Tensor, b: cr.Tensor) -> str:
    ok = cr.allclose(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)
    return "matches" if ok else "DIFFERS"


def chain_rule_examples(say: Callable[[str], None] = print, seed: int = 0) -> bool:
    """z = (<x,w> - y)^2 and z = ||Xw - y||^2: backward vs the closed form, with shapes."""
    cr.manual_seed(seed)
    n, m = 5, 4
    x, y = cr.randn(n, dtype=cr.float64), cr.randn((), dtype=cr.float64)
    w = cr.randn(n, dtype=cr.float64, requires_grad=True)
    a = cr.dot(x, w)
    b = a - y
    z = b**2
    z.backward()
    with cr.no_grad():
        closed = 2 * (cr.dot(x, w) - y) * x
    say("1) z = (<x, w> - y)^2 with x, w in R^5, y in R")
    say(f"   a = <x, w>   shape {tuple(a.shape)}   da/dw: (1, {n})  = x^T")
    say(f"   b = a - y    shape {tuple(b.shape)}   db/da: (1, 1)  = 1")
    say(f"   z = b^2      shape {tuple(z.shape)}   dz/db: (1, 1)  = 2b")
    say(f"   dz/dw = 2(<x,w> - y) x^T, shape (1, {n})")
    say(f"   backward: {w.grad}")
    say(f"   closed  : {closed}   -> {_close(w.grad, closed)}")
    ok1 = cr.allclose(w.grad, closed)

    X, yv = cr.randn(m, n, dtype=cr.float64), cr.randn(m, dtype=cr.float64)
    w2 = cr.randn(n, dtype=cr.float64, requires_grad=True)
    r = X @ w2 - yv
    z2 = (r**2).sum()
    z2.backward()
    with cr.no_grad():
        closed2 = 2 * (X @ w2 - yv) @ X
    say("")
    say(f"2) z = ||Xw - y||^2 with X in R^({m}x{n}), w in R^{n}, y in R^{m}")
    say(f"   a = Xw - y   shape {tuple(r.shape)}   da/dw: ({m}, {n}) = X")
    say(f"   b = a^2      shape {tuple(r.shape)}   db/da: ({m}, {m}) = diag(2a)")
    say(f"   z = sum(b)   shape {tuple(z2.shape)}    dz/db: (1, {m}) = 1^T")
    say(f"   dz/dw = (1,{m})({m},{m})({m},{n}) = 2(Xw - y)^T X, shape (1, {n})")
    say(f"   backward: {w2.grad}")
    say(f"   closed  : {closed2}   -> {_close(w2.grad, closed2)}")
    return bool(ok1 and cr.allclose(w2.grad, closed2))


def autograd_walkthrough(say: Callable[[str], None] = print) -> None:
    """The autograd API as the course introduces it, with real output."""
    x = cr.arange(4.0)
    x.requires_grad_(True)
    y = 2 * cr.dot(x, x)
    say(f">>> x = arange(4.0); x.requires_grad_(True); y = 2 * dot(x, x)\n{y!r}")
    y.backward()
    say(f">>> y.backward(); x.grad            # 4x\n{x.grad}")
    (2 * cr.dot(x, x)).backward()
    say(f">>> (2 * dot(x, x)).backward(); x.grad   # accumulates: 8x\n{x.grad}")
    x.grad.zero_()
    x.sum().backward()
    say(f">>> x.grad.zero_(); x.sum().backward(); x.grad\n{x.grad}")
    x.grad.zero_()
    y = x * x
    y.backward(gradient=cr.ones(len(y)))
    say(f">>> y = x * x; y.backward(gradient=ones(4)); x.grad   # = y.sum().backward()\n{x.grad}")
    x.grad.zero_()
    u = (x * x).detach()
    (u * x).sum().backward()
    say(f">>> u = (x * x).detach(); (u * x).sum().backward(); x.grad   # = u\n{x.grad}")

    def f(a: cr.Tensor) -> cr.Tensor:
        b = a * 2
        while b.norm() < 1000:
            b = b * 2
        return b if b.sum() > 0 else 100 * b

    a = cr.randn(size=(), requires_grad=True)
    d = f(a)
    d.backward()
    say(">>> d = f(a); d.backward()  # f has a while loop and an if on the data")
    say(f">>> a.grad, d / a   # f is piecewise linear, so the gradient is d / a\n"
        f"{a.grad!r} {(d / a).detach()!r}")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed for the examples")


def run(args: argparse.Namespace) -> int:
    print("chainrule tour: the chain rule, then autograd\n")
    ok = chain_rule_examples(seed=args.seed)
    print("\nAutograd walk-through\n")
    autograd_walkthrough()
    return 0 if ok else 1


COMMANDS["tour"] = ("the chain-rule examples and the autograd walk-through", _add_arguments, run)
