"""A process started ahead of time inside the cgroup of a future execution, which becomes that
execution's command when runner asks: so the command is born inside its cgroup, and moving a
process into a cgroup (milliseconds on many kernels) is paid before anyone waits for it.
Standalone: started as `python -I -S trampoline.py`, it imports nothing of runner.

Runner writes the request to stdin and closes it: NUL-separated bytes, `cwd`, the number of
argv items, the argv items, then the environment as `NAME=value` items. The trampoline goes
there, puts /dev/null on stdin, and execs the command with exactly that environment (stdout
and stderr are already runner's pipes). If that fails, it writes `errno NUL where NUL name` to
the file descriptor named by its argument (closed on exec: nothing arrives when the command
started) and exits 127. End of file
without a request (runner is gone or no longer needs it) ends it quietly.
"""

import os
import signal
import sys


def main() -> None:
    errors = int(sys.argv[1])
    os.set_inheritable(errors, False)
    data = sys.stdin.buffer.read()
    if not data:
        return
    fields = data.split(b"\0")
    cwd, count = fields[0], int(fields[1])
    argv = fields[2 : 2 + count]
    env = dict(item.split(b"=", 1) for item in fields[2 + count :] if b"=" in item)
    # What a command started by Popen gets: the signals Python changed for itself restored.
    for signame in ("SIGPIPE", "SIGXFSZ", "SIGXFZ"):
        if hasattr(signal, signame):
            signal.signal(getattr(signal, signame), signal.SIG_DFL)
    where = "cwd"
    try:
        os.chdir(cwd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        where = "exec"
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        culprit = os.fsencode(str(exc.filename or ""))
        os.write(errors, str(exc.errno).encode() + b"\0" + where.encode() + b"\0" + culprit)
        os._exit(127)


if __name__ == "__main__":
    main()
