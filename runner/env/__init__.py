"""Environments a module runs in: the host interpreter today; venv, conda, docker next."""
