"""`--backend ray`: units of work run by actors of a Ray cluster, with the results a local run has.

The driver (this process) submits units; `RayRunner` sends each to the actor with the fewest
units in hand (at most two each, so none idles between units) and hands back results as they
complete. An actor (`UnitActor`, one CPU) imports TensorFlow itself, keeps a `PolicyWorker` per
policy graph (built once, each checkpoint restored into it) and returns per-episode records as
plain numbers: no TensorFlow object is ever pickled. Because episode i depends only on its seed
S+i, the merged result is the local run's, whoever ran which block.

Inputs: the driver validated the files; it ships their bytes through Ray's object store (one
object per file set, shared by every unit that needs it, released when they are done) or, with
`--shared-path`, only their digests. The actor writes shipped bytes to a directory of its own
(`shipping.materialize`, sha256 checked), validates them as the driver did and compares every
digest (`shipping.check_validated`) before TensorFlow loads anything.

Faults: an actor process that dies (kill -9, out of memory, a lost node) is restarted by Ray
(`max_restarts=-1`); the unit it was running is sent again, whole, up to `UNIT_ATTEMPTS` times,
and its records count once (a unit's result arrives once or not at all). A unit that fails for a
reason in its input or its environment returns that error like a local run: it is not retried.
`cancel` kills the actors (Ctrl-C, SIGTERM, --timeout); what completed is kept by the caller.

Imported only when `--backend ray` is asked for: `import pytfpol.cli` never imports Ray.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

import ray
import ray.exceptions

from pytfpol import errors
from pytfpol.errors import InputError, PytfpolError, RunError
from pytfpol.formats.validation import CheckedInputs
from pytfpol.running import shipping
from pytfpol.running.runners import Done, Hooks
from pytfpol.running.units import EpisodeRecord, Unit, UnitResult

ACTOR_CPUS = 1  # one policy call and one env step at a time: TF runs one intra-op thread
UNITS_PER_ACTOR = 2  # in hand per actor: the next unit waits there while one runs
UNIT_ATTEMPTS = 3  # a unit whose worker process died is sent again, up to this many starts
POLL_SECONDS = 0.25  # how often the driver looks at signals and --timeout while waiting
RESTART_PAUSE = 0.5  # seconds between probes of an actor whose process died (Ray restarts it)
STALL_LIMIT = 600.0  # seconds units may wait with every actor restarting: then a RunError
CACHE_DIR = "pytfpol-ray"  # under the node's temp dir: each actor's copies of shipped files
# A worker process that died: Ray restarts the actor; the unit is sent again.
_WORKER_DIED: tuple[type[BaseException], ...] = (
    ray.exceptions.RayActorError,
    ray.exceptions.WorkerCrashedError,
    ray.exceptions.ObjectLostError,
    getattr(ray.exceptions, "NodeDiedError", ray.exceptions.RayActorError),
)


def redact(address: Optional[str]) -> Optional[str]:
    """An address as the report may record it: no user, password or query (tokens)."""
    if not address:
        return address
    parts = urlsplit(address if "://" in address else f"//{address}")
    netloc = parts.netloc.rpartition("@")[2]
    text = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return text if "://" in address else text.lstrip("/")


# --------------------------------------------------------------------------------- the actor


class UnitActor:
    """One worker process of the cluster: runs units as `PolicyWorker`s do in-process."""

    MAX_WORKERS = 2  # policy graphs kept (a sweep of several runs alternates between them)
    MAX_CHECKED = 4  # validated checkpoints kept (units of one checkpoint are often adjacent)

    def __init__(self) -> None:
        from pytfpol.policy import quiet_tf

        quiet_tf.silence()
        quiet_tf.import_tf()  # once, before the first unit; sets TF's one-thread pools
        self.cache = Path(tempfile.gettempdir()) / CACHE_DIR / str(os.getpid())
        _remove_dead_caches(self.cache.parent)
        self.roots: dict[str, str] = {}  # file set key -> local copy
        self.checked: OrderedDict = OrderedDict()  # shipment -> (local source, local, checked)
        self.saved_models: dict = {}  # SavedModel variables, validated once per copy
        self.workers: list = []  # PolicyWorkers, most recently used last

    def pid(self) -> int:
        return os.getpid()

    def run(self, unit: Unit, shipment: shipping.Shipment, payloads: list) -> tuple:
        """Execute `unit`: (records, train_step, seconds, host, pid, error or None). Errors
        are plain tuples (class name, message, hint, exit code) with the driver's paths."""
        started = time.perf_counter()
        roots: list[str] = [files.root for files in shipment.sets]
        records: list[EpisodeRecord] = []
        train_step = None
        try:
            local_unit, checked, roots = self._prepare(unit, shipment, payloads)
            worker = self._worker_for(local_unit, checked)
            result = worker.run(local_unit, checked)
            records, train_step = result.records, result.train_step
            problem = result.error
        except PytfpolError as exc:
            problem = exc
            records = list(exc.completed or [])
        error = None
        if problem is not None:
            error = (
                type(problem).__name__,
                shipping.unlocalize(problem.message, shipment, roots),
                shipping.unlocalize(problem.hint, shipment, roots),
                problem.exit_code,
            )
        seconds = time.perf_counter() - started
        return records, train_step, seconds, socket.gethostname(), os.getpid(), error

    def _prepare(self, unit: Unit, shipment: shipping.Shipment, payloads: list):
        """The unit with its files here, validated and checked against the driver's digests."""
        from dataclasses import replace

        from pytfpol.formats import validation

        roots = []
        for files, payload in zip(shipment.sets, payloads):
            if payload is None:  # --shared-path: the driver's own path
                roots.append(files.root)
                continue
            local = self.roots.get(files.key)
            if local is None or not os.path.isdir(local):
                data = ray.get(payload[0])
                local = self.roots[files.key] = shipping.materialize(files, data, self.cache)
            roots.append(local)
        kept = self.checked.get(shipment)
        if kept is None:
            source = shipping.localize(unit.source, shipment, roots)
            here = shipping.local_shipment(shipment, roots)
            checked = validation.validate(source, (), self.saved_models)
            shipping.check_validated(shipment, here, checked)
            kept = self.checked[shipment] = (source, checked)
            while len(self.checked) > self.MAX_CHECKED:
                self.checked.popitem(last=False)
        self.checked.move_to_end(shipment)
        source, checked = kept
        return replace(unit, source=source), checked, roots

    def _worker_for(self, unit: Unit, checked: CheckedInputs):
        from pytfpol.running.worker import PolicyWorker

        for worker in self.workers:
            if worker.accepts(unit):
                self.workers.remove(worker)
                self.workers.append(worker)
                return worker
        worker = PolicyWorker(unit, checked)
        self.workers.append(worker)
        while len(self.workers) > self.MAX_WORKERS:
            self.workers.pop(0).close()
        return worker

    def close(self) -> None:
        """Close the workers and remove this actor's copies of the files."""
        for worker in self.workers:
            worker.close()
        self.workers = []
        shutil.rmtree(self.cache, ignore_errors=True)


def _remove_dead_caches(parent: Path) -> None:
    """Copies left by actor processes that were killed (their pid no longer runs)."""
    if not parent.is_dir():
        return
    for child in parent.iterdir():
        if child.name.isdigit() and not _alive(int(child.name)):
            shutil.rmtree(child, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------------- the driver


@dataclass
class _Job:
    unit: Unit
    shipment: shipping.Shipment
    hooks: Hooks
    tag: Any
    attempts: int = 0
    actor: int = -1
    ref: Any = None
    sent: float = field(default=0.0)


class RayRunner:
    """Runs units on `actors` Ray actors (default: one per CPU of the cluster). Connects to
    `address` (else RAY_ADDRESS), or starts a Ray instance on this machine, stopped on close;
    a Ray already initialised in this process is used as it is."""

    def __init__(
        self,
        address: Optional[str] = None,
        actors: Optional[int] = None,
        shared: bool = False,
        warn: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.shared = shared
        self._warn = warn or (lambda message: None)
        self._started = False
        address = address or os.environ.get("RAY_ADDRESS") or None
        self.address: Optional[str]
        if ray.is_initialized():
            self.address = "this process's Ray"
        else:
            handlers = _python_signal_handlers()
            try:
                ray.init(
                    address=address or "local",  # "local": a new instance, never a stray one
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise RunError(
                    f"--ray-address {redact(address) or '(local)'}: cannot connect to Ray "
                    f"({errors.first_line(exc)})",
                    "start the head with `ray start --head`, pass its address "
                    "(--ray-address HOST:6379 or RAY_ADDRESS), or leave both out for a Ray "
                    "instance on this machine",
                ) from None
            finally:  # Ray's core installs its own SIGTERM handler: pytfpol's stops the run
                _restore_signal_handlers(handlers)
            self._started = True
            self.address = redact(address) if address else "local"
        # Ray prints its raylet's error messages (e.g. "A worker died") on the driver's stdout,
        # which carries only pytfpol's data: they are off; the runner says what happened.
        if hasattr(ray._private.worker, "_worker_logs_enabled"):
            ray._private.worker._worker_logs_enabled = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = actors if actors is not None else max(1, cpus // ACTOR_CPUS)
        remote = ray.remote(num_cpus=ACTOR_CPUS, max_restarts=-1, max_task_retries=0)(UnitActor)
        # Any: Ray types an actor handle's methods as the plain methods, without `.remote`.
        self.actors: list[Any] = [remote.remote() for _ in range(count)]
        self.capacity = UNITS_PER_ACTOR * count
        self._load = [0] * count
        self._paused = [0.0] * count  # time.monotonic() before which an actor is not probed
        self._restarting = [False] * count  # its process died: no unit until a probe answers
        self._probes: dict = {}  # ObjectRef of UnitActor.pid -> actor index
        self._stalled: Optional[float] = None  # since when every actor is restarting
        self._queue: deque[_Job] = deque()
        self._running: dict = {}  # ObjectRef -> _Job
        self._payloads: dict[str, list] = {}  # file set key -> [ObjectRef, units using it]
        self._saved_models: dict = {}  # SavedModel directory -> its FileSet, hashed once
        self._cancelled = False

    # ------------------------------------------------------------------------------ submit

    def submit(
        self, unit: Unit, checked: CheckedInputs, hooks: Optional[Hooks] = None, tag: Any = None
    ) -> None:
        shipment = shipping.describe(unit.source, checked, self._saved_models)
        if not self.shared:
            for files in shipment.sets:
                kept = self._payloads.get(files.key)
                if kept is None:  # the bytes validation kept, else read here (checked)
                    kept = self._payloads[files.key] = [
                        ray.put(shipping.read_payload(files, checked.contents_of)),
                        0,
                    ]
                kept[1] += 1
        self._queue.append(_Job(unit, shipment, hooks or Hooks(), tag))
        self._dispatch()

    def _dispatch(self) -> None:
        now = time.monotonic()
        probing = set(self._probes.values())
        for k, restarting in enumerate(self._restarting):
            if restarting and k not in probing and self._paused[k] <= now:
                self._probes[self.actors[k].pid.remote()] = k  # answers once it is back
        while self._queue:
            ready = [
                k
                for k in range(len(self.actors))
                if self._load[k] < UNITS_PER_ACTOR and not self._restarting[k]
            ]
            if not ready:
                return
            job = self._queue.popleft()
            actor = min(ready, key=lambda k: self._load[k])
            payloads = [
                None if self.shared else [self._payloads[files.key][0]]
                for files in job.shipment.sets
            ]  # nested in lists: an actor fetches a set only when it has no copy yet
            job.attempts += 1
            job.actor, job.sent = actor, time.monotonic()
            job.ref = self.actors[actor].run.remote(job.unit, job.shipment, payloads)
            self._load[actor] += 1
            self._running[job.ref] = job

    def pending(self) -> int:
        return len(self._queue) + len(self._running)

    # ----------------------------------------------------------------------------- collect

    def next_result(self, poll: Optional[float] = None) -> Optional[Done]:
        """The next completed unit (None after `poll` seconds without one). A unit whose
        worker died is sent again and waited for; after UNIT_ATTEMPTS starts it is a RunError."""
        waited = 0.0
        while self._running or self._queue:
            self._dispatch()  # units held back while their actors restart
            self._check_stalled()
            step = POLL_SECONDS if poll is None else min(POLL_SECONDS, max(poll - waited, 0))
            waiting = [*self._running, *self._probes]
            if waiting:
                ready, _ = ray.wait(waiting, num_returns=1, timeout=step)
            else:
                ready = []
                time.sleep(step)
            waited += step
            if ready and ready[0] in self._probes:
                self._probed(ready[0])
            elif ready:
                done = self._collect(ready[0])
                if done is not None:
                    return done
            elif poll is not None and waited >= poll:
                return None
        return None

    def _probed(self, ref) -> None:
        """An actor that died answered (it is back: it gets units again) or not yet."""
        k = self._probes.pop(ref)
        try:
            ray.get(ref)
        except _WORKER_DIED:
            self._paused[k] = time.monotonic() + RESTART_PAUSE
            return
        self._restarting[k] = False
        self._stalled = None

    def _check_stalled(self) -> None:
        """Units waiting while no actor comes back (a lost node, no resources left): after
        STALL_LIMIT seconds the cluster cannot run them, a RunError for the first."""
        if self._running or not self._queue or not all(self._restarting):
            self._stalled = None
            return
        self._stalled = self._stalled or time.monotonic()
        if time.monotonic() - self._stalled > STALL_LIMIT:
            raise RunError(
                f"{self._queue[0].unit.label}: no Ray actor came back for {STALL_LIMIT:g} s "
                "after its process died",
                "check the cluster (ray status); completed units were kept",
            )

    def _collect(self, ref) -> Optional[Done]:
        job = self._running.pop(ref)
        self._load[job.actor] -= 1
        try:
            records, train_step, seconds, host, pid, error = ray.get(ref)
        except _WORKER_DIED as exc:
            if not self._restarting[job.actor]:
                self._restarting[job.actor] = True  # no unit there until a probe answers
                self._paused[job.actor] = time.monotonic() + RESTART_PAUSE
            if job.attempts < UNIT_ATTEMPTS:
                self._warn(
                    f"{job.unit.label}: the Ray worker it was sent to died "
                    f"({type(exc).__name__}); it runs again"
                )
                self._queue.appendleft(job)  # again, whole: its records count once
                self._dispatch()
                return None
            result = UnitResult(
                job.unit,
                error=RunError(
                    f"{job.unit.label}: the Ray worker running it died {job.attempts} times "
                    f"({errors.first_line(exc)})",
                    "check the workers' memory and logs (ray logs); completed units were kept",
                ),
            )
            return self._finish(job, result, {"host": None, "pid": None})
        except ray.exceptions.RayTaskError as exc:  # a bug, not the input: not retried
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            result = UnitResult(
                job.unit,
                error=RunError(
                    f"{job.unit.label}: failed on a Ray worker ({errors.first_line(cause)})",
                    "run with --backend local -v to see the traceback",
                ),
            )
            return self._finish(job, result, {"host": None, "pid": None})
        result = UnitResult(
            job.unit, list(records), train_step, _error(error, records), seconds, worker=host
        )
        hooks = job.hooks
        if hooks.on_step is not None and records:
            hooks.on_step(sum(r.length for r in records))
        if hooks.on_episode is not None:
            for record in records:
                hooks.on_episode(record)
        return self._finish(job, result, {"host": host, "pid": pid})

    def _finish(self, job: _Job, result: UnitResult, where: dict) -> Done:
        for files in (job.shipment.checkpoint, job.shipment.evaluation):  # the SavedModel's
            if files is None:  # stays a run
                continue
            kept = self._payloads.get(files.key)
            if kept is not None:
                kept[1] -= 1
                if kept[1] <= 0:
                    del self._payloads[files.key]  # the object store may free it
        self._dispatch()
        return Done(job.tag, result, job.attempts, where)

    # ------------------------------------------------------------------------ stop, close

    def cancel(self) -> None:
        """Stop every unit: the queued ones are dropped, the running ones' actors killed."""
        self._queue.clear()
        self._running.clear()
        self._probes.clear()
        self._payloads.clear()
        self._cancelled = True
        for actor in self.actors:
            ray.kill(actor, no_restart=True)

    def describe(self) -> dict:
        return {
            "name": "ray",
            "address": self.address,
            "actors": len(self.actors),
            "actor_cpus": ACTOR_CPUS,
            "shared_path": self.shared,
        }

    def close(self) -> None:
        """The actors remove their copies and stop; a Ray started here is shut down."""
        try:
            if self.pending():
                self.cancel()
            if not self._cancelled and self.actors:
                closing = [actor.close.remote() for actor in self.actors]
                ray.wait(closing, num_returns=len(closing), timeout=10)
            for actor in self.actors:
                ray.kill(actor, no_restart=True)
        finally:
            self.actors = []
            if self._started:
                ray.shutdown()
                self._started = False


def _python_signal_handlers() -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signal_handlers(handlers: dict) -> None:
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


def _error(info: Optional[tuple], records: list) -> Optional[PytfpolError]:
    """An actor's error tuple as the pytfpol error it was (its class, message, hint, code)."""
    if info is None:
        return None
    name, message, hint, exit_code = info
    kind = getattr(errors, name, None)
    if not (isinstance(kind, type) and issubclass(kind, PytfpolError)):
        kind = InputError if exit_code == errors.EXIT_INPUT else RunError
    error = kind(message, hint)
    error.exit_code = exit_code
    error.completed = list(records)
    return error
