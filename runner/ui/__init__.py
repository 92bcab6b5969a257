"""The local web page: a pipeline as a live graph, step details and logs, and an editor.

Served by Starlette + uvicorn (`runner ui`, `runner pipeline view`); the page's assets are the
committed bundle in `static/`, built from `ui/` at the repository root.
"""
