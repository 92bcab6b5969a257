"""Run one command as a process: no policy, just the process tree, its log and signals."""
