"""Debugging a module or a pipeline step by hand: the step resolved and laid out (upstream
outputs from the cache), a shell in its environment, and IDE launch configurations."""
