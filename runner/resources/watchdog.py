"""The watch of one runner process: when runner ends, however it ends (SIGKILL included), what
it was still running is killed. Standalone: started as `python -I -S watchdog.py`, it imports
nothing of runner and only the standard library's cheapest modules.

Runner holds the only write end of this process's stdin and writes one line per change, its
fields separated by tabs:

    + cgroup PATH            - cgroup PATH         an execution's cgroup (killed, then removed)
    + group PGID             - group PGID          an execution's process group
    + cookie COOKIE          - cookie COOKIE       every process carrying an execution's cookie
    + pid PID START          - pid PID START       one process (START: its start time, in ticks)
    + container NAME HOST    - container NAME HOST a container (HOST: the engine, unix:// or tcp://)
    home PATH                                      runner's folder of cgroups (removed at the end)

End of file means runner is gone (a normal exit closes the pipe too, with nothing left to do).
This process runs in its own session and ignores the terminal's signals, so that what kills
runner leaves it to clean up.
"""

# ruff: noqa: PTH106, PTH118, PTH208, SIM105 -- os calls and no contextlib: it starts fast

import os
import signal
import socket
import sys
import time

COOKIE_VAR = b"RUNNER_EXECUTION_ID="
SETTLE_S = 5.0


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)
    live: dict[tuple[str, ...], None] = {}  # registered and not yet released, in order
    home = ""
    for raw in sys.stdin.buffer:
        fields = tuple(os.fsdecode(raw.rstrip(b"\n")).split("\t"))
        if fields[0] == "home" and len(fields) == 2:
            home = fields[1]
        elif fields[0] == "+":
            live[fields[1:]] = None
        elif fields[0] == "-":
            live.pop(fields[1:], None)
    for item in reversed(list(live)):  # the group before the scan for its cookie
        try:
            release(item[0], item[1:])
        except Exception:  # each one is independent: do what can be done
            pass
    if home:
        try:
            os.rmdir(home)
        except OSError:
            pass


def kill_cgroup(path: str) -> None:
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as stream:
            stream.write("1")
    except OSError:  # before Linux 5.14: the members one by one, until none is left
        for pid in cgroup_members(path):
            kill(pid)
    deadline = time.monotonic() + SETTLE_S
    while populated(path) and time.monotonic() < deadline:
        for pid in cgroup_members(path):
            kill(pid)
        time.sleep(0.05)
    for folder, _, _ in sorted(os.walk(path), key=lambda item: -len(item[0])):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def cgroup_members(path: str) -> list[int]:
    pids: list[int] = []
    for folder, _, _ in os.walk(path):
        try:
            with open(os.path.join(folder, "cgroup.procs"), "rb") as stream:
                pids += [int(pid) for pid in stream.read().split()]
        except OSError:
            pass
    return pids


def populated(path: str) -> bool:
    try:
        with open(os.path.join(path, "cgroup.events"), "rb") as stream:
            return b"populated 1" in stream.read()
    except OSError:
        return False


def kill_group(pgid: str) -> None:
    try:
        os.killpg(int(pgid), signal.SIGKILL)
    except OSError:
        pass


def kill_cookie(cookie: str) -> None:
    """Every process still carrying the execution's cookie (those that left its group): a scan
    of /proc, once, when runner is already gone."""
    wanted = cookie.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as stream:
                variables = stream.read().split(b"\0")
        except OSError:
            continue
        for variable in variables:
            if variable.startswith(COOKIE_VAR) and wanted in variable[len(COOKIE_VAR) :].split():
                kill(int(name))


def kill_process(pid: str, start: str) -> None:
    """The process, if that pid is still the same process (the same start time)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return
    if len(fields) > 19 and fields[19] == start.encode():
        kill(int(pid))


def kill_container(name: str, host: str) -> None:
    """`docker rm -f NAME` through the engine's API (plain HTTP over its socket)."""
    request = (
        f"DELETE /containers/{name}?force=1&v=1 HTTP/1.1\r\nHost: docker\r\n"
        "Connection: close\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    with connect(host) as sock:
        sock.sendall(request)
        while sock.recv(65536):
            pass


def connect(host: str) -> socket.socket:
    if host.startswith("tcp://"):
        address, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
        return socket.create_connection((address, int(port)), timeout=30)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(host[len("unix://") :] if host.startswith("unix://") else host)
    return sock


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def release(kind: str, args: tuple[str, ...]) -> None:
    if kind == "cgroup":
        kill_cgroup(*args)
    elif kind == "group":
        kill_group(*args)
    elif kind == "cookie":
        kill_cookie(*args)
    elif kind == "pid":
        kill_process(*args)
    elif kind == "container":
        kill_container(*args)


if __name__ == "__main__":
    main()
