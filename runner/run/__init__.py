"""One module run, from bound values to a result: job, key, command, launch, record."""
