"""Distributed steps on this machine: the ranks of a pytorch or tensorflow distribution with
their framework's environment (a plain-socket rendezvous stands in for torch, which the CI
does not need), a log per rank, one failure stopping every rank; mpi ranks through mpiexec
exchanging a real MPI message."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

import runner

HEAD = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: ranks
version: 1
outputs: {out: {type: uri_folder}}
"""

# Rank 0 listens at MASTER_ADDR:MASTER_PORT; every other rank connects and sends its RANK.
RENDEZVOUS = """\
import os, socket, sys, time
from pathlib import Path
env = {k: os.environ[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
out = Path(sys.argv[1])
rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
address = (env["MASTER_ADDR"], int(env["MASTER_PORT"]))
print(f"rank {rank} of {world} here", flush=True)
if rank == 0:
    server = socket.create_server(address)
    heard = []
    for _ in range(world - 1):
        connection, _ = server.accept()
        heard.append(connection.recv(16).decode())
    (out / "heard").write_text(",".join(sorted(heard)))
else:
    for _ in range(200):
        try:
            with socket.create_connection(address) as connection:
                connection.sendall(env["RANK"].encode())
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
(out / f"rank-{rank}.env").write_text(repr(env))
"""


def run_module(
    write_module: Callable[..., Path], tmp_path: Path, spec: str, script: str
) -> runner.RunResult:
    module = runner.load_module(write_module(HEAD + spec, {"rank.py": script}))
    return module.run(workdir=tmp_path / "run", quiet=True, timeout=120)


def test_pytorch_ranks_rendezvous_and_each_sees_its_rank(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    spec = "distribution: {type: pytorch, process_count_per_instance: 2}\n"
    spec += "command: python rank.py ${{outputs.out}}\n"
    result = run_module(write_module, tmp_path, spec, RENDEZVOUS)
    assert result.ok, result.log.read_text()
    out = result.outputs["out"]
    assert (out / "heard").read_text() == "1"
    envs = [eval((out / f"rank-{rank}.env").read_text()) for rank in (0, 1)]
    assert [(e["RANK"], e["LOCAL_RANK"], e["WORLD_SIZE"]) for e in envs] == [
        ("0", "0", "2"),
        ("1", "1", "2"),
    ]
    assert envs[0]["MASTER_PORT"] == envs[1]["MASTER_PORT"]
    # A log per rank, and each rank's lines in the run's log, labelled.
    for rank in (0, 1):
        rank_log = (result.workdir / "ranks" / f"rank-{rank}.log").read_text()
        assert f"rank {rank} of 2 here" in rank_log
        assert f"[rank {rank}] rank {rank} of 2 here" in result.log.read_text()


def test_tensorflow_ranks_get_tf_config(write_module: Callable[..., Path], tmp_path: Path) -> None:
    script = (
        "import os, sys\nfrom pathlib import Path\nconfig = os.environ['TF_CONFIG']\n"
        "import json\nindex = json.loads(config)['task']['index']\n"
        "Path(sys.argv[1], f'worker-{index}').write_text(config)\n"
    )
    spec = "distribution: {type: tensorflow, worker_count: 2}\n"
    spec += "command: python rank.py ${{outputs.out}}\n"
    result = run_module(write_module, tmp_path, spec, script)
    assert result.ok, result.log.read_text()
    configs = [json.loads((result.outputs["out"] / f"worker-{i}").read_text()) for i in (0, 1)]
    assert [c["task"] for c in configs] == [
        {"type": "worker", "index": 0},
        {"type": "worker", "index": 1},
    ]
    workers = configs[0]["cluster"]["worker"]
    assert len(set(workers)) == 2 and configs[1]["cluster"]["worker"] == workers


def test_one_failing_rank_stops_every_rank(
    write_module: Callable[..., Path], tmp_path: Path
) -> None:
    script = (
        "import os, sys, time\nfrom pathlib import Path\nrank = os.environ['RANK']\n"
        "Path(sys.argv[1], f'pid-{rank}').write_text(str(os.getpid()))\n"
        "if rank == '1':\n    time.sleep(0.5)\n    sys.exit(3)\n"
        "time.sleep(100)\nPath(sys.argv[1], 'rank-0-finished').write_text('')\n"
    )
    spec = "distribution: {type: pytorch, process_count_per_instance: 2}\n"
    spec += "command: python rank.py ${{outputs.out}}\n"
    result = run_module(write_module, tmp_path, spec, script)
    assert not result.ok
    assert result.message == "the command exited with code 3"  # not a timeout
    out = result.workdir / "outputs" / "out"
    assert not (out / "rank-0-finished").exists()
    assert not psutil.pid_exists(int((out / "pid-0").read_text()))
    assert "[runner] rank 1 failed (exit 3): stopping the others" in result.log.read_text()


RING_C = r"""
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank, message = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        message = 42;
        MPI_Send(&message, 1, MPI_INT, 1, 0, MPI_COMM_WORLD);
    } else if (rank == 1) {
        MPI_Recv(&message, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        FILE *out = fopen(argv[1], "w");
        fprintf(out, "rank 1 received %d\n", message);
        fclose(out);
    }
    MPI_Finalize();
    return 0;
}
"""


@pytest.mark.mpi
def test_mpi_ranks_exchange_a_message(write_module: Callable[..., Path], tmp_path: Path) -> None:
    mpicc = shutil.which("mpicc")
    if mpicc is None:
        pytest.skip("needs mpicc (scripts/system-deps installs mpich)")
    spec_path = write_module(
        HEAD + "distribution: {type: mpi, process_count_per_instance: 2}\n"
        "code: .\ncommand: ./ring ${{outputs.out}}/message.txt\n",
        {"ring.c": RING_C},
    )
    folder = spec_path.parent
    subprocess.run([mpicc, "-o", str(folder / "ring"), str(folder / "ring.c")], check=True)
    result = runner.load_module(spec_path).run(workdir=tmp_path / "run", quiet=True, timeout=120)
    assert result.ok, result.log.read_text()
    assert (result.outputs["out"] / "message.txt").read_text() == "rank 1 received 42\n"
