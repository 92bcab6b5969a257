"""Conda dependencies as pip requirements, for backends that install from PyPI (venv, docker).

A conda package installs from PyPI under its PyPI name. Most packages share their name on both
sides, so a name found in none of the tables below is passed through unchanged: keeping a
complete list of PyPI projects is impossible, and a name that does not exist there fails the
install with uv naming it, which is as clear as a message from here. The tables only hold the
names that differ, the packages every environment already has, and conda packages known to
have no PyPI equivalent (refused up front, with a hint to use a backend that runs conda).

Versions follow conda's match-spec rules: a single `=` is fuzzy (`numpy=1.24` -> `==1.24.*`,
`numpy=1.24.3` -> `==1.24.3.*`); `==`, a space-separated version (`numpy 1.24.3`) and a version
followed by a build string (`numpy=1.24.3=py310_0`) are exact, and the build is dropped; a
trailing `*` is a prefix match; channel prefixes (`conda-forge::numpy`) are dropped; operator
ranges (`numpy>=1.20,<2`) stay as they are. Alternatives (`1.24|1.25`) have no pip spelling
and are refused.

`pip`, `setuptools` and `wheel` are seeded into every venv: listed bare they need nothing,
pinned they are installed at the pinned version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from runner.errors import EnvironmentBuildError
from runner.spec.model import CondaDependencies, EnvironmentSpec
from runner.struct import Struct


def canonical(name: str) -> str:
    """A project name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# Conda names whose PyPI project has another name.
RENAMED: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "matplotlib-base": "matplotlib",
    "opencv": "opencv-python",
    "py-opencv": "opencv-python",
    "tensorflow-gpu": "tensorflow",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "numpy-base": "numpy",
    "python-graphviz": "graphviz",
    "ruamel_yaml": "ruamel.yaml",
    "pyqt": "PyQt5",
    "py-lightgbm": "lightgbm",
}

# The interpreter and the libraries it is built with: every environment has them already.
# (`python` itself is not installed either: its pin chooses the interpreter, see pythons.py.)
PROVIDED = frozenset(
    {
        "python",
        "python_abi",
        "ca-certificates",
        "openssl",
        "libgcc-ng",
        "libgcc",
        "libgomp",
        "libstdcxx-ng",
        "libstdcxx",
        "_libgcc_mutex",
        "_openmp_mutex",
        "tk",
        "tzdata",
        "zlib",
        "libzlib",
        "xz",
        "liblzma",
        "readline",
        "ncurses",
        "sqlite",
        "libsqlite",
        "libffi",
        "bzip2",
        "libbzip2",
        "ld_impl_linux-64",
        "libuuid",
        "libnsl",
        "libxcrypt",
        "libexpat",
        "libmpdec",
        "cpuonly",  # only selects CPU builds of conda's pytorch; PyPI's torch needs nothing
        "nomkl",  # only keeps MKL out of a conda solve; PyPI wheels never use MKL
    }
)

# Seeded into every venv: dropped when bare, installed when the spec pins a version.
SEEDED = frozenset({"pip", "setuptools", "wheel"})

# Conda packages that are not Python distributions on PyPI (CUDA and math runtimes, compilers,
# other languages, C libraries): a PyPI environment cannot provide them.
CONDA_ONLY = frozenset(
    {
        "cudatoolkit",
        "cudatoolkit-dev",
        "cudnn",
        "nccl",
        "pytorch-cuda",
        "magma",
        "mkl",
        "mkl-service",
        "mkl-include",
        "mkl_fft",
        "mkl_random",
        "intel-openmp",
        "blas",
        "libblas",
        "libcblas",
        "liblapack",
        "openblas",
        "libopenblas",
        "libopencv",
        "libprotobuf",
        "arrow-cpp",
        "libarrow",
        "hdf5",
        "boost",
        "boost-cpp",
        "libboost",
        "openmpi",
        "mpich",
        "graphviz",
        "ffmpeg",
        "openjdk",
        "nodejs",
        "gcc",
        "gxx",
        "gfortran",
        "gcc_linux-64",
        "gxx_linux-64",
        "gfortran_linux-64",
        "c-compiler",
        "cxx-compiler",
        "fortran-compiler",
        "compilers",
        "make",
        "git",
    }
)
CONDA_ONLY_PREFIXES = ("r-", "cuda-", "libcu", "libnv", "libnccl")

# Lookups compare PEP 503 names (`ruamel_yaml` is `ruamel-yaml`); tables keep the spelling.
_RENAMED = {canonical(name): pypi for name, pypi in RENAMED.items()}
_PROVIDED = frozenset(canonical(name) for name in PROVIDED)
_CONDA_ONLY = frozenset(canonical(name) for name in CONDA_ONLY)


class CondaPackage(Struct):
    """One conda match spec, taken apart: channel and build string are not kept."""

    name: str
    version: str  # a PEP 440 specifier ("==1.24.*", ">=1.20,<2") or "" for any version


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_OPERATOR = re.compile(r"(===|==|!=|~=|>=|<=|>|<|=)?\s*(.*)")


def parse_conda_spec(text: str) -> CondaPackage:
    """A conda match spec (`conda-forge::numpy=1.24.3=py310_0`) as a name and a pip version."""
    spec = text.strip()
    if "::" in spec:  # channel (or channel/subdir) prefix
        spec = spec.split("::", 1)[1].strip()
    head = _NAME.match(spec)
    if head is None:
        raise ValueError("no package name")
    name, rest = head.group(0), spec[head.end() :].strip()
    if rest.startswith("["):  # numpy[version='>=1.20,<2',build=...]
        match = re.search(r"""version\s*=\s*['"]([^'"]*)['"]|version\s*=\s*([^,\]]*)""", rest)
        version = next((group for group in match.groups() if group), "") if match else ""
        return CondaPackage(name, _version(version))
    # "numpy >= 1.20, < 2" -> "numpy >=1.20,<2"; what follows the version is a build string
    rest = re.sub(r"\s*([<>!~=,|])\s*", r"\1", rest)
    version = rest.split()[0] if rest else ""
    if version.startswith("=") and not version.startswith("=="):
        version, _, build = version[1:].partition("=")
        # `numpy=1.24` is fuzzy (1.24.*); with a build string the version is exact
        return CondaPackage(name, _version(version if build else "=" + version))
    return CondaPackage(name, _version(re.sub(r"(?<=[\w*])=[^=,<>!~]*$", "", version)))


def _version(spec: str) -> str:
    """A conda version spec as a PEP 440 specifier ("" for any version)."""
    if "|" in spec:
        raise ValueError(f"version '{spec}' has alternatives ('|'), which pip cannot express")
    clauses = []
    for clause in spec.split(","):
        match = _OPERATOR.fullmatch(clause)
        assert match is not None  # the pattern matches any string
        operator, version = match.group(1) or "", match.group(2)
        if version in ("", "*"):
            continue
        fuzzy = version.endswith("*") or operator == "="
        version = version.rstrip("*").rstrip(".")
        operator = "==" if operator in ("", "=") else operator
        if fuzzy and operator in ("==", "!="):
            clauses.append(f"{operator}{version}.*")
        else:  # `>=1.2*` means >=1.2
            clauses.append(f"{operator}{version}")
    return ",".join(clauses)


def conda_to_pip(conda: CondaDependencies, *, source: Path | str | None = None) -> list[str]:
    """The pip requirements for a conda environment: its packages under their PyPI names, in
    the spec's order, then its `pip:` section as is. Packages with no PyPI equivalent raise an
    EnvironmentBuildError naming them all."""
    requirements: list[str] = []
    refused: list[str] = []
    for dep in conda.dependencies:
        try:
            package = parse_conda_spec(dep)
        except ValueError as exc:
            refused.append(f"{dep.strip()} ({exc})")
            continue
        key = canonical(package.name)
        if key in _PROVIDED:
            continue
        if key in SEEDED:
            if package.version:
                requirements.append(f"{key}{package.version}")
            continue
        if key in _CONDA_ONLY or key.startswith(CONDA_ONLY_PREFIXES):
            refused.append(dep.strip())
            continue
        requirements.append(_RENAMED.get(key, package.name) + package.version)
    if refused:
        where = f"{source}: " if source else ""
        named = f" '{conda.name}'" if conda.name else ""
        raise EnvironmentBuildError(
            f"{where}the conda environment{named} needs packages that cannot be installed from "
            f"PyPI: {', '.join(refused)}",
            "run this module with --env conda or --env docker, or remove these packages from "
            "its conda dependencies",
        )
    return _unique([*requirements, *(_clean(line) for line in conda.pip)])


def requirements_for(spec: EnvironmentSpec, *, source: Path | str | None = None) -> list[str]:
    """Every pip requirement line of an environment: the conda part translated, then the pip
    requirements file's lines. Comments and blank lines dropped, whitespace normalised."""
    conda = conda_to_pip(spec.conda, source=source) if spec.conda is not None else []
    return _unique([*conda, *_logical_lines(spec.pip_requirements)])


def python_pin(spec: EnvironmentSpec) -> str | None:
    """The conda `python` dependency as a PEP 440 specifier (`python=3.10` -> `==3.10.*`)."""
    if spec.conda is None:
        return None
    for dep in spec.conda.dependencies:
        try:
            package = parse_conda_spec(dep)
        except ValueError:
            continue
        if canonical(package.name) == "python":
            return package.version or None
    return None


def _logical_lines(lines: Iterable[str]) -> list[str]:
    """Requirement lines with `\\` continuations joined."""
    joined: list[str] = []
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending)
    return [cleaned for cleaned in (_clean(line) for line in joined) if cleaned]


def _clean(line: str) -> str:
    line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0]
    return " ".join(line.split())


def _unique(lines: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for line in lines:
        if line and line not in seen:
            seen.add(line)
            kept.append(line)
    return kept
