"""User values turned into checked bindings: names, types, ports."""
