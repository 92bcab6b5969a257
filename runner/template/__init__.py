"""The command-template language of 2.0 and CLI v2 specs: its model, and the parser."""
