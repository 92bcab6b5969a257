"""The local module registry: modules registered from a spec, a folder, a zip or a git
repository, frozen and versioned; data types; resolution of registered names everywhere a spec
path is accepted. See docs/design.md and runner.registry.api for the Python API."""
