"""``torch.nn.modules.rnn``: the classes of this family that chainrule has (see the package)."""

from __future__ import annotations

from ._reexport import export

# PyTorch's names in this module; those chainrule has are bound here.
NAMES = (
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
)
__all__ = export(globals(), NAMES)
