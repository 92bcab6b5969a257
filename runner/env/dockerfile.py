"""The Dockerfile and build context of an environment image (conda and/or pip on a base image).

`render_build` is pure: it turns an environment spec and the base image's ID into the
Dockerfile text and the files the build needs. Their digest is the environment's fingerprint,
so nothing machine-specific goes in: the CA bundle a TLS-intercepting proxy needs is added
when the context is written (`BuildContext.write`), the Dockerfile uses it when it is there.

Inside the image the environment always lives at /opt/runner-env (first on PATH):

- conda dependencies, base image with micromamba, mamba or conda: a conda prefix made by it;
- conda dependencies, base image without conda: the dependencies translated to pip
  requirements (`runner.env.translate`), installed into a venv of the image's python3;
  untranslatable packages fail this branch only, with the translation's message;
- pip requirements (a requirements file): installed into that prefix, or into a venv of the
  image's python3 that sees the image's own packages (the file extends the image).

Which branch applies is decided by a shell test inside the build (the image is only known
there), so one Dockerfile serves both.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jinja2
import yaml

from runner.env.translate import canonical, conda_to_pip, parse_conda_spec, python_pin
from runner.errors import EnvironmentBuildError
from runner.hashing import new_hasher
from runner.spec.model import CondaDependencies, EnvironmentSpec
from runner.struct import Struct

PREFIX = "/opt/runner-env"
CONTEXT_DIR = "runner-build"  # the folder of build inputs inside the context
CA_FILE = "ca.crt"  # under CONTEXT_DIR; never part of the fingerprint


class BuildContext(Struct):
    """A rendered Dockerfile and the files it copies (names relative to CONTEXT_DIR)."""

    dockerfile: str
    files: tuple[tuple[str, bytes], ...]

    def digest(self) -> str:
        hasher = new_hasher()
        hasher.update(b"dockerfile\0" + self.dockerfile.encode("utf-8") + b"\0")
        for name, data in sorted(self.files):
            hasher.update(f"{name}\0{len(data)}\0".encode())
            hasher.update(data)
        return hasher.hexdigest()

    def write(self, folder: Path, ca_bundle: Path | None) -> None:
        """The build context on disk: Dockerfile, CONTEXT_DIR with the files (and CA bundle)."""
        inputs = folder / CONTEXT_DIR
        inputs.mkdir(parents=True, exist_ok=True)
        (folder / "Dockerfile").write_text(self.dockerfile, encoding="utf-8")
        for name, data in self.files:
            (inputs / name).write_bytes(data)
        if ca_bundle is not None:
            try:
                shutil.copyfile(ca_bundle, inputs / CA_FILE)
            except OSError as exc:
                raise EnvironmentBuildError(
                    f"cannot read the CA bundle {ca_bundle}: {exc.strerror or exc}",
                    "point the CA bundle setting at a readable PEM file, or unset it",
                ) from None


def render_build(
    spec: EnvironmentSpec, base_id: str, *, strict_python: bool = False
) -> BuildContext:
    """The build of `spec`'s dependencies on the image `base_id` (an image ID, not a tag)."""
    files: dict[str, bytes] = {}
    conda = spec.conda
    translation_error = None
    conda_pip: list[str] = []
    if conda is not None:
        files["conda.yaml"] = _conda_yaml(conda).encode("utf-8")
        try:
            conda_pip = conda_to_pip(conda)
        except EnvironmentBuildError as exc:
            # Only fatal in an image without conda, which the build alone can tell.
            translation_error = exc.message
            files["translation-error.txt"] = (exc.message + "\n").encode("utf-8")
        if conda_pip:
            files["conda-requirements.txt"] = _lines(conda_pip)
    if spec.pip_requirements:
        files["requirements.txt"] = _lines(spec.pip_requirements)
    dockerfile = _template().render(
        base_id=base_id,
        context_dir=CONTEXT_DIR,
        prefix=PREFIX,
        conda=conda is not None,
        conda_pip=bool(conda_pip),
        translation_error=translation_error is not None,
        python_versions=_python_versions(spec),
        python_pin=python_pin(spec) or "",
        strict_python=strict_python,
        pip=bool(spec.pip_requirements),
    )
    return BuildContext(dockerfile, tuple(sorted(files.items())))


def _python_versions(spec: EnvironmentSpec) -> str | None:
    """The conda python pin as a shell `case` pattern, for the forms a shell can check
    (`python=3.10`, `python==3.10.4`); a range is left to the user."""
    pin = python_pin(spec)
    match = re.fullmatch(r"==(\d+(?:\.\d+)*)(\.\*)?", pin or "")
    if match is None:
        return None
    version = match.group(1)
    return f"{version}|{version}.*" if match.group(2) else version


def _conda_yaml(conda: CondaDependencies) -> str:
    """The environment file for `conda env create -p`: a prefix environment needs its own
    python (and pip for a pip section), which conda specs usually but not always list."""
    names = set()
    for dep in conda.dependencies:
        try:
            names.add(canonical(parse_conda_spec(dep).name))
        except ValueError:
            continue  # conda itself will say what is wrong with it
    dependencies: list[object] = list(conda.dependencies)
    if "python" not in names:
        dependencies.insert(0, "python")
    if conda.pip and "pip" not in names:
        dependencies.append("pip")
    if conda.pip:
        dependencies.append({"pip": list(conda.pip)})
    document: dict[str, object] = {"dependencies": dependencies}
    if conda.channels:
        document = {"channels": list(conda.channels), **document}
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def _lines(lines: tuple[str, ...] | list[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


_environment: jinja2.Environment | None = None


def _template() -> jinja2.Template:
    global _environment
    if _environment is None:
        _environment = jinja2.Environment(
            loader=jinja2.PackageLoader("runner.env", "templates"),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,  # a Dockerfile, not HTML
        )
    return _environment.get_template("Dockerfile.j2")
