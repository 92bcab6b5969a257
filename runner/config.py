"""User settings: command-line flags over environment variables over the config file.

The config file is YAML, at `$RUNNER_CONFIG`, else `$XDG_CONFIG_HOME/runner/config.yaml`, else
`~/.config/runner/config.yaml`:

    env: docker              # auto | host | venv | conda | docker      (RUNNER_ENV)
    ca_bundle: /etc/ssl/corp-ca.pem   # CA bundle for package downloads (RUNNER_CA_BUNDLE)
    strict_python: false     # venv: refuse a python other than the pinned X.Y
    executor: ray            # where pipeline steps run: local | ray    (RUNNER_EXECUTOR)
    ray_address: auto        # the Ray cluster to join; none: a local one (RAY_ADDRESS)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from runner.errors import Location, SpecError
from runner.spec.source import load_document
from runner.struct import Struct

ENV_CHOICES = ("auto", "host", "venv", "conda", "docker")
EXECUTOR_CHOICES = ("local", "ray")
# Where TLS-intercepting proxies' users already point their tools; the first that names an
# existing file is used for package downloads in environment builds.
CA_BUNDLE_VARIABLES = (
    "RUNNER_CA_BUNDLE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
)


class Settings(Struct):
    env: str = "auto"
    ca_bundle: Path | None = None
    strict_python: bool = False
    executor: str = "local"
    ray_address: str | None = None


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("RUNNER_CONFIG"):
        return Path(environ["RUNNER_CONFIG"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "runner" / "config.yaml"


def load_settings(
    environ: Mapping[str, str],
    *,
    env: str | None = None,
    ca_bundle: Path | None = None,
    strict_python: bool | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
) -> Settings:
    """Settings for one invocation; arguments given here (from flags) win."""
    from_file = _read_config(config_path(environ))
    chosen_env = env or environ.get("RUNNER_ENV") or from_file.env
    _check_choice(environ, "env", "RUNNER_ENV", chosen_env, ENV_CHOICES, "environment backend")
    chosen_executor = executor or environ.get("RUNNER_EXECUTOR") or from_file.executor
    _check_choice(environ, "executor", "RUNNER_EXECUTOR", chosen_executor, EXECUTOR_CHOICES)
    bundle = ca_bundle or from_file.ca_bundle or _bundle_from(environ)
    strict = strict_python if strict_python is not None else from_file.strict_python
    return Settings(
        env=chosen_env,
        ca_bundle=bundle,
        strict_python=strict,
        executor=chosen_executor,
        ray_address=ray_address or environ.get("RAY_ADDRESS") or from_file.ray_address,
    )


def _check_choice(
    environ: Mapping[str, str],
    field: str,
    variable: str,
    value: str,
    choices: tuple[str, ...],
    what: str | None = None,
) -> None:
    if value not in choices:
        raise SpecError(
            _where(environ, field, variable),
            f"unknown {what or field} '{value}'",
            f"choose one of: {', '.join(choices)}",
        )


def _bundle_from(environ: Mapping[str, str]) -> Path | None:
    for name in CA_BUNDLE_VARIABLES:
        value = environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return None


def _where(environ: Mapping[str, str], field: str, variable: str) -> Location:
    if environ.get(variable):
        return Location(Path(f"${variable}"), field=field)
    return Location(config_path(environ), field=field)


def _read_config(path: Path) -> Settings:
    if not path.is_file():
        return Settings()
    root = load_document(path).root
    if root.value is None:
        return Settings()
    known = ("ca_bundle", "env", "executor", "ray_address", "strict_python")
    fields = root.mapping()
    for name, node in fields.items():
        if name not in known:
            raise node.error(f"unknown setting '{name}'", f"known: {', '.join(known)}")
    env = fields["env"].string() if "env" in fields else "auto"
    bundle = fields["ca_bundle"].string() if "ca_bundle" in fields else None
    strict = fields["strict_python"].boolean() if "strict_python" in fields else False
    executor = fields["executor"].string() if "executor" in fields else "local"
    address = fields["ray_address"].string() if "ray_address" in fields else None
    if bundle is not None and not Path(bundle).expanduser().is_file():
        raise fields["ca_bundle"].error(f"CA bundle {bundle} does not exist")
    return Settings(
        env=env,
        ca_bundle=Path(bundle).expanduser() if bundle else None,
        strict_python=strict,
        executor=executor,
        ray_address=address,
    )
