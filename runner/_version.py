"""The version of runner, alone so that anything may import it without importing the rest."""

__version__ = "0.1.0"
