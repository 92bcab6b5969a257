"""Files shipped with runner and run as they are, never imported by it."""
