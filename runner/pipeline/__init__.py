"""Pipelines: steps running modules, wired by their inputs and outputs (YAML or Python).

`model` (the frozen graph), `load` (CLI v2 `type: pipeline` files), `inputs` (pipeline
inputs and their values), `validate` (every problem before anything runs), `dsl` (the
`@runner.pipeline` decorator). Kept empty so that importing one does not import the others.
"""
