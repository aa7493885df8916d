"""chainproof: a software-supply-chain evidence store."""

__version__ = "0.1.0"
