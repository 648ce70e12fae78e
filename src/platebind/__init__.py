"""platebind: plate-binding registry and card-free parking clearing house."""

__version__ = "0.1.0"
