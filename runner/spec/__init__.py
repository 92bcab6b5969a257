"""Module specs: the frozen model and one loader per spec generation."""
