"""A sweep's curve.png drawn in a child process, so that matplotlib's import (most of what the
picture costs) runs on another core while the sweep imports TensorFlow and evaluates.

`PlotProcess()` starts the child at once: `sys.executable -P -c BOOT ROOT`, ROOT the directory
holding the pytfpol this process runs (from `pytfpol.__file__`, never from an input; put first
on the child's sys.path, and -P keeps the working directory off it). The child ignores SIGINT
(a terminal's Ctrl-C reaches the whole process group; the parent decides), runs at nice 10 (a
busy core goes to the sweep first), imports matplotlib, then answers requests until its stdin
closes: a length-prefixed JSON document in, the PNG bytes (`plots.curve_png`) out. It imports no TensorFlow and writes no file: the parent writes the
bytes it gets with `files.write_atomic`, like every output. Any failure of the child (it could
not start, died, answered garbage or too late) is silent: the picture is drawn here instead,
the same bytes. `close()` kills and reaps the child.

The child costs more CPU than drawing here (a fresh interpreter imports numpy and what
matplotlib needs that this process already has: ~0.3 s more), so `start()` starts one only
when a core is spare (`worth_starting`); with every core busy the picture is drawn here, as
before. PYTFPOL_PLOT_PROCESS=1 always starts one, =0 never (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Optional

import pytfpol
from pytfpol.results import files, plots

ANSWER_TIMEOUT = 20.0  # seconds for an answer (the child may still be importing matplotlib)
MAX_PNG_BYTES = 64 << 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER = struct.Struct(">Q")
SWITCH = "PYTFPOL_PLOT_PROCESS"  # "1": always start the child, "0": never, else when worth it
BOOT = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); import os, sys; os.nice(10); "
    "sys.path.insert(0, sys.argv[1]); from pytfpol.results import plot_process; "
    "plot_process.serve()"
)


def start() -> PlotProcess:
    """The sweep's plotter: a child started when `worth_starting`, else one that draws here."""
    return PlotProcess(start=worth_starting(os.environ))


def worth_starting(environ: Mapping[str, str]) -> bool:
    """PYTFPOL_PLOT_PROCESS=1 / 0 decides; else whether this machine has a core to spare now.
    Never before Python 3.11 (no -P there to keep the working directory off the child's path)."""
    if sys.version_info < (3, 11):
        return False
    switch = environ.get(SWITCH)
    if switch in ("0", "1"):
        return switch == "1"
    try:
        cpus, load = len(os.sched_getaffinity(0)), os.getloadavg()[0]
    except (AttributeError, OSError):
        return True  # not known: a machine with idle cores is the common case
    return spare_core(cpus, load)


def spare_core(cpus: int, load: float) -> bool:
    """A core the child would have to itself: at least two, and the last minute's load (this
    sweep's own included) leaving half a core idle."""
    return cpus >= 2 and load < cpus - 0.5


def child_command() -> list[str]:
    """The child's command line: this interpreter, this pytfpol, nothing from any input."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(pytfpol.__file__)))
    return [sys.executable, "-P", "-c", BOOT, root]


class PlotProcess:
    """The parent's end of one child that draws curve.png."""

    def __init__(
        self, timeout: float = ANSWER_TIMEOUT, command: Optional[list] = None, start: bool = True
    ) -> None:
        self.timeout = timeout
        self.process: Optional[subprocess.Popen] = None
        if not start:
            return  # drawn here
        try:
            self.process = subprocess.Popen(
                command or child_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
        except (OSError, ValueError, TypeError, subprocess.SubprocessError):
            return  # drawn here
        os.set_blocking(self.process.stdin.fileno(), False)  # type: ignore[union-attr]

    def write_curve_plot(self, document: dict, path: Path) -> None:
        """curve.png at `path`: the child's bytes, else drawn here (`plots.write_curve_plot`)."""
        png = self.curve_png(document)
        if png is None:
            plots.write_curve_plot(document, path)
        else:
            files.write_atomic(Path(path), png)

    def curve_png(self, document: dict) -> Optional[bytes]:
        """The child's PNG of `document`; None (and the child ended) on any failure."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            return None
        deadline = time.monotonic() + self.timeout
        try:
            body = json.dumps(document).encode()
            self._send(HEADER.pack(len(body)) + body, deadline)
            (size,) = HEADER.unpack(self._receive(HEADER.size, deadline))
            if not 0 < size <= MAX_PNG_BYTES:
                raise ValueError(f"the plot child answered {size} bytes")
            png = self._receive(size, deadline)
            if not png.startswith(PNG_SIGNATURE):
                raise ValueError("the plot child answered no PNG")
        except (OSError, ValueError, TypeError, TimeoutError):
            self.close()
            return None
        return png

    def _send(self, data: bytes, deadline: float) -> None:
        fd = self.process.stdin.fileno()  # type: ignore[union-attr]
        view = memoryview(data)
        while view:
            _wait(fd, deadline, write=True)
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue

    def _receive(self, size: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        chunks, left = [], size
        while left:
            _wait(fd, deadline, write=False)
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise ValueError("the plot child ended before it answered")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """End the child and reap it: SIGKILL, since it holds nothing to flush or remove (it
        writes no file), and its own exit, matplotlib loaded, would take ~0.1 s of the
        sweep's time."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.kill()
        finally:
            process.wait()
            for pipe in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()  # type: ignore[union-attr]


def _wait(fd: int, deadline: float, write: bool) -> None:
    left = deadline - time.monotonic()
    ready = (
        select.select([], [fd], [], max(left, 0))
        if write
        else select.select([fd], [], [], max(left, 0))
    )
    if not any(ready):
        raise TimeoutError("the plot child did not answer in time")


def serve() -> None:
    """The child: import matplotlib (and draw once, so fonts are loaded) before the first
    request, then answer requests until stdin closes. stdout carries only answers (anything
    else printing goes to stderr)."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    plots.curve_png(WARM_UP)
    while True:
        header = requests.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (size,) = HEADER.unpack(header)
        try:
            png = plots.curve_png(json.loads(requests.read(size)))
        except Exception:  # noqa: BLE001 - any failure: the parent draws it itself
            png = b""
        answers.write(HEADER.pack(len(png)) + png)
        answers.flush()


WARM_UP = {
    "runs": [{"path": "run", "best": {"step": 2, "value": 1.0}}],
    "checkpoints": [
        {"run": 0, "error": None, "step": s, "summary": {"mean_return": float(s)}} for s in (1, 2)
    ],
    "settings": {"episodes": 1},
    "env": {"id": "warm-up"},
}
