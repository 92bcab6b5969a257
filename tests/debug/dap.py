"""A small Debug Adapter Protocol client, as an IDE speaks it over the socket: enough to attach,
set a breakpoint, see it hit and continue (the tests' stand-in for VS Code)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

Message = dict[str, Any]


class DapError(AssertionError):
    pass


class DapClient:
    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.timeout = timeout
        self.sock = sock
        self.buffer = b""
        self.seq = 0
        self.pending: list[Message] = []  # messages read while waiting for another one

    @classmethod
    def open(cls, host: str, port: int, timeout: float = 90.0) -> DapClient:
        """Connected and initialized, retrying while the module's process starts debugpy (a
        port docker publishes accepts before anything listens behind it, then closes)."""
        deadline = time.monotonic() + timeout
        while True:
            client = cls(_connect(host, port, deadline), timeout)
            try:
                client.timeout = 10.0
                client.request(
                    "initialize",
                    clientID="runner-tests",
                    adapterID="debugpy",
                    pathFormat="path",
                    linesStartAt1=True,
                    columnsStartAt1=True,
                )
            except (DapError, OSError):
                client.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            client.timeout = timeout
            return client

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the wire ---------------------------------------------------------------------------

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        message = {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self, deadline: float) -> Message:
        while b"\r\n\r\n" not in self.buffer:
            self._fill(deadline)
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            self.buffer = header + b"\r\n\r\n" + rest
            self._fill(deadline)
            header, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        message: Message = json.loads(rest[:length])
        return message

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DapError("timed out waiting for the debug adapter")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise DapError("the debug adapter closed the connection")
        self.buffer += data

    def wait(self, predicate: Any, what: str) -> Message:
        """The first message (kept or new) that `predicate` accepts."""
        for index, message in enumerate(self.pending):
            if predicate(message):
                return self.pending.pop(index)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                message = self._read(deadline)
            except DapError as exc:
                raise DapError(f"{exc} ({what}); seen: {self.pending}") from None
            if predicate(message):
                return message
            self.pending.append(message)

    def response(self, seq: int, command: str) -> Message:
        message = self.wait(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq, command
        )
        if not message.get("success"):
            raise DapError(f"{command} failed: {message}")
        return message

    def event(self, name: str) -> Message:
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name, name)

    def request(self, command: str, **arguments: Any) -> Message:
        return self.response(self.send(command, **arguments), command)

    # --- the IDE's part ---------------------------------------------------------------------

    def attach_and_break(self, source: Path, line: int, **attach: Any) -> Message:
        """Attach (plain unless told), setBreakpoints on the source file's line and
        configurationDone, on a client `open` initialized; the breakpoints and `stopped`."""
        # What any IDE's attach carries at least; no pathMappings unless a test adds them.
        attach = {"name": "tests", "type": "debugpy", "request": "attach", **attach}
        attach_seq = self.send("attach", **attach)
        self.event("initialized")
        answer = self.request(
            "setBreakpoints",
            source={"path": str(source)},
            breakpoints=[{"line": line}],
        )
        self.request("configurationDone")
        self.response(attach_seq, "attach")
        stopped = self.event("stopped")
        return {"stopped": stopped, "breakpoints": answer["body"]["breakpoints"]}

    def attach_and_go(self, **attach: Any) -> None:
        """Attach with no breakpoint on a client `open` initialized: the program runs on."""
        attach_seq = self.send("attach", name="tests", type="debugpy", request="attach", **attach)
        self.event("initialized")
        self.request("configurationDone")
        self.response(attach_seq, "attach")

    def top_frame(self, thread_id: int) -> Message:
        frames = self.request("stackTrace", threadId=thread_id, levels=20)["body"]["stackFrames"]
        return frames[0]  # type: ignore[no-any-return]

    def continue_to_end(self, thread_id: int) -> None:
        self.request("continue", threadId=thread_id)
        self.event("terminated")


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    """Connect, retrying while nothing listens yet."""
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
