"""The result cache: content digests with a stat memo (`digest`, `state`); keys and store next."""
