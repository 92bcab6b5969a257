"""JSON Schemas of the spec formats (`runner schema`), built from the loaders' own tables."""
