"""Conda dependencies as pip requirements: names, versions, dropped and refused packages."""

from __future__ import annotations

import pytest

from runner.env.translate import (
    conda_to_pip,
    parse_conda_spec,
    python_pin,
    requirements_for,
)
from runner.errors import EnvironmentBuildError
from runner.spec.model import CondaDependencies, EnvironmentSpec


def translate(*deps: str, pip: tuple[str, ...] = ()) -> list[str]:
    return conda_to_pip(CondaDependencies(dependencies=deps, pip=pip))


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("numpy", "numpy"),
        ("numpy=1.24", "numpy==1.24.*"),
        ("numpy=1.24.3", "numpy==1.24.3.*"),
        ("numpy==1.24.3", "numpy==1.24.3"),
        ("numpy 1.24.3", "numpy==1.24.3"),
        ("numpy 1.24.3 py310h5f9d8c6_0", "numpy==1.24.3"),
        ("numpy=1.24.3=py310h5f9d8c6_0", "numpy==1.24.3"),
        ("numpy==1.24.3=py310_0", "numpy==1.24.3"),
        ("numpy>=1.20,<2", "numpy>=1.20,<2"),
        ("numpy >= 1.20, < 2", "numpy>=1.20,<2"),
        ("numpy>=1.20 py_0", "numpy>=1.20"),
        ("conda-forge::numpy", "numpy"),
        ("conda-forge/linux-64::numpy=1.24", "numpy==1.24.*"),
        ("numpy=*", "numpy"),
        ("numpy *", "numpy"),
        ("numpy 1.24.*", "numpy==1.24.*"),
        ("numpy=1.24*", "numpy==1.24.*"),
        ("numpy!=1.24*", "numpy!=1.24.*"),
        ("numpy[version='>=1.20,<2']", "numpy>=1.20,<2"),
        ("numpy[version=1.2.*]", "numpy==1.2.*"),
        ("numpy[version='']", "numpy"),
        ("numpy[build=py310_0]", "numpy"),
        ("  scikit-learn=1.3  ", "scikit-learn==1.3.*"),
    ],
)
def test_version_specs(conda: str, pip: str) -> None:
    assert translate(conda) == [pip]


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("pytorch=2.1", "torch==2.1.*"),
        ("pytorch-cpu", "torch"),
        ("py-xgboost>=1.7", "xgboost>=1.7"),
        ("matplotlib-base=3.8", "matplotlib==3.8.*"),
        ("opencv", "opencv-python"),
        ("py-opencv", "opencv-python"),
        ("tensorflow-gpu=2.12", "tensorflow==2.12.*"),
        ("msgpack-python", "msgpack"),
        ("pytables", "tables"),
        ("numpy-base", "numpy"),
        ("python-graphviz", "graphviz"),
        ("ruamel_yaml", "ruamel.yaml"),
        # same name on both sides (and unknown names) pass through as written
        ("pyyaml", "pyyaml"),
        ("scikit-learn", "scikit-learn"),
        ("python-dateutil", "python-dateutil"),
        ("protobuf=4.24", "protobuf==4.24.*"),
        ("ipython", "ipython"),
        ("jupyter", "jupyter"),
        ("certifi", "certifi"),
        ("cmake>=3.26", "cmake>=3.26"),
        ("some-package-nobody-knows", "some-package-nobody-knows"),
    ],
)
def test_names(conda: str, pip: str) -> None:
    assert translate(conda) == [pip]


def test_provided_packages_are_dropped() -> None:
    provided = [
        "python=3.10",
        "ca-certificates",
        "openssl=3.0",
        "libgcc-ng",
        "libstdcxx-ng",
        "_libgcc_mutex=0.1=main",
        "_openmp_mutex",
        "tk",
        "tzdata",
        "zlib",
        "xz",
        "readline",
        "ncurses",
        "sqlite",
        "libffi",
        "bzip2",
        "ld_impl_linux-64",
        "cpuonly",
    ]
    assert translate(*provided) == []


def test_seeded_packages_are_dropped_unless_pinned() -> None:
    assert translate("pip", "setuptools", "wheel") == []
    assert translate("pip=23.3", "setuptools<70", "wheel==0.42.0") == [
        "pip==23.3.*",
        "setuptools<70",
        "wheel==0.42.0",
    ]


def test_whole_environment_in_order_then_pip_section_as_is() -> None:
    conda = CondaDependencies(
        name="train",
        channels=("pytorch", "conda-forge"),
        dependencies=("python=3.10", "pip", "pytorch=2.1", "numpy>=1.24", "pandas"),
        pip=("azureml-core==1.55.0", "  mlflow  ", "--extra-index-url https://example.org/x"),
    )
    assert conda_to_pip(conda) == [
        "torch==2.1.*",
        "numpy>=1.24",
        "pandas",
        "azureml-core==1.55.0",
        "mlflow",
        "--extra-index-url https://example.org/x",
    ]


def test_conda_only_packages_are_refused_all_at_once() -> None:
    conda = CondaDependencies(
        name="gpu",
        dependencies=("python=3.9", "cudatoolkit=11.3", "numpy", "mkl", "r-base", "cuda-nvcc"),
    )
    with pytest.raises(EnvironmentBuildError) as caught:
        conda_to_pip(conda, source="module.yaml")
    assert caught.value.message == (
        "module.yaml: the conda environment 'gpu' needs packages that cannot be installed "
        "from PyPI: cudatoolkit=11.3, mkl, r-base, cuda-nvcc"
    )
    assert caught.value.hint is not None
    assert "--env conda" in caught.value.hint
    assert "--env docker" in caught.value.hint


@pytest.mark.parametrize(
    "dep",
    ["cudnn", "nccl", "mkl-service", "blas=*=mkl", "libblas", "openjdk", "gcc", "gxx", "nodejs"],
)
def test_more_conda_only(dep: str) -> None:
    with pytest.raises(EnvironmentBuildError, match="cannot be installed from PyPI"):
        translate(dep)


def test_alternatives_have_no_pip_spelling() -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        translate("numpy 1.24|1.25")
    assert "numpy 1.24|1.25 (version '1.24|1.25' has alternatives" in caught.value.message


def test_requirements_for_joins_conda_and_pip_file() -> None:
    spec = EnvironmentSpec(
        conda=CondaDependencies(dependencies=("six=1.16",), pip=("tabulate",)),
        pip_requirements=(
            "# a comment",
            "attrs>=23   # inline comment",
            "",
            "tabulate",  # a duplicate of the conda pip section
            "requests \\",
            "  >=2.0",
        ),
    )
    assert requirements_for(spec) == ["six==1.16.*", "tabulate", "attrs>=23", "requests >=2.0"]


def test_requirements_for_without_dependencies() -> None:
    assert requirements_for(EnvironmentSpec()) == []
    assert requirements_for(EnvironmentSpec(image="python:3.11")) == []


@pytest.mark.parametrize(
    ("dep", "pin"),
    [
        ("python=3.10", "==3.10.*"),
        ("python 3.10.4", "==3.10.4"),
        ("python>=3.9,<3.12", ">=3.9,<3.12"),
        ("python=3.10.4=h12debd9_0", "==3.10.4"),
        ("conda-forge::python=3", "==3.*"),
        ("python", None),
    ],
)
def test_python_pin(dep: str, pin: str | None) -> None:
    spec = EnvironmentSpec(conda=CondaDependencies(dependencies=("numpy", dep)))
    assert python_pin(spec) == pin


def test_no_python_pin() -> None:
    assert python_pin(EnvironmentSpec()) is None
    assert python_pin(EnvironmentSpec(conda=CondaDependencies(dependencies=("numpy",)))) is None


def test_parse_keeps_the_name_as_written() -> None:
    package = parse_conda_spec("conda-forge::Typing_Extensions>=4")
    assert (package.name, package.version) == ("Typing_Extensions", ">=4")
