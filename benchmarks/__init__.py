"""Benchmarks: chainrule side by side with PyTorch (and NumPy by hand), one fresh process each.

``python -m benchmarks`` runs everything and writes docs/benchmarks.md;
``python -m benchmarks overhead matmul`` runs a selection.
"""
