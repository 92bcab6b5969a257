"""How one run is laid out in a container: mounts, container paths, the command, a rerun script.

Layout (spec reference, section 6: snapshot, read-only inputs, read-write outputs):

    /mnt/runner/snapshot            the run's snapshot copy, read-write, the working directory
    /mnt/runner/inputs/<name>       a folder input, read-only
    /mnt/runner/inputs/<name>/<f>   a file input, read-only, under its own file name
    /mnt/runner/outputs/<name>      a folder output, read-write
    /mnt/runner/outputs/<name>/<f>  a file output: written into a staging folder of the run and
                                    moved to its destination afterwards, so the destination's
                                    neighbours are never exposed to the container
    /mnt/runner/internal            runner's own files (the parallel driver), read-only
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from runner.env.base import Runtime
from runner.env.container import ALL_GPUS, ContainerInvocation, container_name, run_container
from runner.run.launch import Launch, LaunchContext, command, install_driver
from runner.spec.model import ModuleSpec
from runner.struct import Struct, replace

ROOT = "/mnt/runner"


class Mount(Struct):
    host: Path
    container: str
    read_only: bool


class Layout(Struct):
    inputs: dict[str, str]  # original name -> container path
    outputs: dict[str, str]
    mounts: tuple[Mount, ...]
    staged: dict[Path, Path]  # file outputs: staged host file -> final host destination


def layout(context: LaunchContext) -> Layout:
    spec = context.spec
    mounts = [
        Mount(context.snapshot, f"{ROOT}/snapshot", read_only=False),
        Mount(context.internal, f"{ROOT}/internal", read_only=True),
    ]
    inputs: dict[str, str] = {}
    for name, host in context.inputs.items():
        port = spec.find_input(name)
        folder = f"{ROOT}/inputs/{port.python_name if port else name}"
        if host.is_file():
            inputs[name] = f"{folder}/{host.name}"
        else:
            inputs[name] = folder
        mounts.append(Mount(host, inputs[name], read_only=True))
    outputs: dict[str, str] = {}
    staged: dict[Path, Path] = {}
    for out in spec.outputs:
        host = context.outputs[out.name]
        folder = f"{ROOT}/outputs/{out.python_name}"
        if out.is_file:
            staging = context.internal / "file-outputs" / out.python_name
            staging.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(staging, folder, read_only=False))
            outputs[out.name] = f"{folder}/{host.name}"
            staged[staging / host.name] = host
        else:
            mounts.append(Mount(host, folder, read_only=False))
            outputs[out.name] = folder
    return Layout(inputs, outputs, tuple(mounts), staged)


def container_launch(context: LaunchContext, runtime: Runtime) -> Launch:
    assert runtime.image is not None, "a docker runtime names its image"
    spec = context.spec
    paths = layout(context)
    driver = f"{ROOT}/internal/parallel_run.py"
    argv = [
        *context.launcher,
        *command(spec, context.values, paths.inputs, paths.outputs, driver),
    ]
    install_driver(spec, context.internal)  # parallel jobs: mounted at /mnt/runner/internal
    env = {
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": f"{ROOT}/snapshot",
        "HOME": "/tmp",  # the calling uid has no home in the image
        **dict(spec.environment_variables),
    }
    name = container_name(spec.name)
    user = f"{os.getuid()}:{os.getgid()}"
    invocation = ContainerInvocation(
        image=runtime.image,
        argv=tuple(argv),
        mounts=tuple((m.host, m.container, m.read_only) for m in paths.mounts),
        workdir=f"{ROOT}/snapshot",
        env=env,
        user=user,
        name=name,
        log_path=context.log,
        timeout=context.timeout,
        echo=context.echo,
        gpus=gpu_request(spec),
        gpu_ids=context.gpus or (),
        shm_size=spec.resources.shm_size,
    )
    _write_rerun(context.rerun_script, invocation, paths)
    if context.debug is not None:  # rerun.sh above repeats the command without the debugger
        invocation = _debugged(invocation, context)
    details = {
        "backend": "docker",
        "container": {
            "image": runtime.image,
            "name": name,
            "user": user,
            "mounts": [
                {"host": str(m.host), "container": m.container, "read_only": m.read_only}
                for m in paths.mounts
            ],
            "env": env,
        },
    }
    return Launch(tuple(argv), details, lambda: run_container(invocation), lambda: _unstage(paths))


def _debugged(invocation: ContainerInvocation, context: LaunchContext) -> ContainerInvocation:
    from runner.run.debug import container_debug

    assert context.debug is not None
    argv, variables, mount, ports = container_debug(
        context.debug, invocation.argv, context.internal, ROOT
    )
    env = dict(invocation.env)
    front = variables.pop("PYTHONPATH")
    env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{front}" if env.get("PYTHONPATH") else front
    env.update(variables)
    mounts = (*invocation.mounts, (mount[0], mount[1], True))
    return replace(invocation, argv=tuple(argv), env=env, mounts=mounts, ports=ports)


def gpu_request(spec: ModuleSpec) -> int:
    """GPUs to ask for: the spec's count, else all of them for a GPU image (AzureML's curated
    GPU images are named for CUDA), else none."""
    if spec.resources.gpu_count:
        return spec.resources.gpu_count
    env = spec.environment
    names = " ".join(filter(None, (env.image, env.base_image, env.named))).lower()
    return ALL_GPUS if any(word in names for word in ("cuda", "gpu")) else 0


def _unstage(paths: Layout) -> None:
    for staged, destination in paths.staged.items():
        if staged.exists():
            shutil.move(staged, destination)  # may cross file systems


def _write_rerun(script: Path, invocation: ContainerInvocation, paths: Layout) -> None:
    """`docker run` with the same image, mounts, user, variables and command."""
    argv = ["docker", "run", "--rm", "--init", "--user", invocation.user]
    argv += ["--workdir", invocation.workdir]
    for mount in paths.mounts:
        suffix = ":ro" if mount.read_only else ""
        argv += ["--volume", f"{mount.host}:{mount.container}{suffix}"]
    for key, value in sorted(invocation.env.items()):
        argv += ["--env", f"{key}={value}"]
    argv += [invocation.image, *invocation.argv]
    lines = [
        "#!/bin/sh",
        "# Repeats this run's command by hand, in the same image with the same mounts.",
        f"exec {shlex.join(argv)}",
    ]
    if paths.staged:
        lines.insert(2, "# File outputs land in the run's .runner/file-outputs/ folder.")
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script.chmod(0o700)  # private, as the run folder
