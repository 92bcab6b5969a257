"""A local Ray cluster for the whole session: a head and a second worker node, each started
with `ray start` on this machine, with separate custom resources (`head_node`, `worker_node`)
so that a step can be made to land on either. Both are stopped at the end of the session,
whatever happened."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_nodes import RayCluster, free_port, node_env, start_node, stop_node


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    temp_dir = Path(tempfile.mkdtemp(prefix="rt"))  # short: Ray's socket paths must fit
    env = node_env()
    port = free_port()
    address = f"127.0.0.1:{port}"
    nodes = []
    try:
        head = ["--head", "--port", str(port), "--temp-dir", str(temp_dir),
                "--include-dashboard", "false", "--resources", '{"head_node": 1}']  # fmt: skip
        nodes.append(start_node([*head, "--node-ip-address", "127.0.0.1"], env, temp_dir / "h.log"))
        worker = ["--address", address, "--resources", '{"worker_node": 1}']
        nodes.append(
            start_node([*worker, "--node-ip-address", "127.0.0.1"], env, temp_dir / "w.log")
        )
        yield RayCluster(address=address, temp_dir=temp_dir)
    finally:
        for node in reversed(nodes):
            stop_node(node)
        shutil.rmtree(temp_dir, ignore_errors=True)
