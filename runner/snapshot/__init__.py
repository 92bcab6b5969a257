"""The code snapshot: planned (includes, ignore files, digest), then written."""
