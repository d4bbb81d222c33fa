"""`pytfpol sweep`: every chosen checkpoint of one or more training runs, on the same seeds.

plan (no TensorFlow) → claim and lock OUT → for each run, for each checkpoint: validate it (read
once), look its key up in the journal (`results.journal`: a re-run or a resumed sweep evaluates
only what it has not), else run it as one unit on the run's worker (the graph is built once per
run; each checkpoint is restored into it) and journal the result → with `--watch`, keep listing
the directories for new complete checkpoints → pick the best, re-evaluate it on fresh seeds →
write sweep.json, curve.csv, episodes.csv, curve.png, TensorBoard events and OUT/best/ as one
output set. A checkpoint that cannot be evaluated is recorded with its error and the sweep goes
on; the exit code then says so.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import itertools
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pytfpol import gates
from pytfpol.commands import best_video
from pytfpol.commands.progress import NoProgress
from pytfpol.errors import (
    InputError,
    Interrupted,
    OutputError,
    PytfpolError,
    RunError,
    Terminated,
    UsageError,
    interrupted,
    stopped_by,
)
from pytfpol.formats import layout, validation
from pytfpol.results import journal as journal_module
from pytfpol.results import (
    locking,
    output_checkpoint,
    plots,
    report,
    storage,
    sweep_report,
    write_failures,
)
from pytfpol.running import collect, interrupts, sweep_plan
from pytfpol.running.plan import policy_config_for, run_options
from pytfpol.running.units import RunOptions, Unit, merge, unit_size
from pytfpol.settings import SweepSettings

WATCH_TRIES = 3  # a checkpoint that keeps failing validation while watched is recorded as failed


def sweep(settings: SweepSettings, progress=None) -> dict:
    """Run the sweep, write its outputs, return `sweep.json`'s document. Raises (with `.report`
    set, after writing) InputError when a checkpoint could not be evaluated, Interrupted on
    Ctrl-C/SIGTERM; check the gates with `report.check_gates`."""
    progress = progress or NoProgress()
    with interrupts.stop_on_signals():
        plan = sweep_plan.plan_sweep(settings)
        for note in plan.notes:
            progress.warn(note)
        try:
            if settings.video_best:  # refused before anything is written
                from pytfpol.running import video

                video.check_can_render(
                    plan.env,
                    getattr(plan.first_env, "metadata", {}),
                    settings.eval.seed,
                    settings.eval.video_format,
                )
            base = settings.eval
            out = (
                Path(base.out)
                if base.out
                else storage.default_run_dir(
                    plan.env.env_id, f"sweep-{Path(settings.paths[0]).name}"
                )
            )
            identity = _identity(settings, plan)
            claim = storage.claim_output_dir(
                out,
                [run.found.directory for run in plan.runs] + list(settings.paths),
                identity,
                base.overwrite,
                report_name=layout.SWEEP_JSON,
            )
            with locking.working_in(out, claim):
                storage.check_free_space(out, _needed_bytes(plan))
                document, error = Sweeper(plan, out, progress).run()
        finally:
            plan.close()
    if error is not None:
        error.report = document
        raise error
    return document


def _needed_bytes(plan) -> int:
    """What the sweep will write, estimated from above before it runs: the best checkpoint
    (as large as the largest chosen), every episode of every chosen checkpoint and of the
    confirmation (`write_failures.needed_bytes`). A --watch sweep counts the checkpoints there
    now."""
    chosen = [c for run in plan.runs for c in run.chosen]
    settings = plan.settings
    return write_failures.needed_bytes(
        write_failures.checkpoint_bytes(c.prefix for c in chosen),
        len(chosen) * settings.eval.episodes + settings.confirm,
        len(chosen),
    )


def _identity(settings: SweepSettings, plan) -> dict:
    return {
        "policy": "|".join(str(Path(p).resolve()) for p in settings.paths),
        "policy_name": settings.eval.policy,
        "env": plan.env.env_id,
    }


class Sweeper:
    """One sweep, under the lock: evaluates, journals, and writes the output set."""

    def __init__(self, plan, out: Path, progress) -> None:
        from pytfpol.policy.quiet_tf import heavy_imports

        with heavy_imports():
            from pytfpol.running.runners import InProcessRunner  # TensorFlow from here on

        self.plan, self.settings, self.out, self.progress = plan, plan.settings, out, progress
        self.journal = journal_module.Journal(out)
        # One in-process runner per run: it runs the run's units locally; with a remote
        # backend it only loads the best checkpoint's policy, to write OUT/best.
        self.runners = [InProcessRunner() for _ in plan.runs]
        self.runners[0]._first_env = plan.take_first_env()
        self.remote = None  # the runner of --backend ray (made in run())
        self.jobs: dict[int, _Job] = {}  # checkpoints whose units are submitted, by tag
        self.confirmed: list = []  # the best's confirmation units, as they arrive
        self._tags = itertools.count()
        self.units: list[dict] = []  # where each unit ran (the report's backend.units)
        self.entries: list[dict] = []
        self.best_inputs: dict[int, tuple] = {}  # run -> (best entry, its source, its inputs)
        self.saved_models: list[dict] = [{} for _ in plan.runs]  # each run's SavedModel, read once
        self.video_error: Optional[PytfpolError] = None
        self.notes: list[str] = list(plan.notes)
        self.started = time.perf_counter()

    # ------------------------------------------------------------------------------- running

    def run(self) -> tuple[dict, Optional[PytfpolError]]:
        stopped: Optional[PytfpolError] = None
        deferral = interrupts.Deferral()
        stage = storage.stage_outputs(self.out)
        try:
            try:
                self._start_backend()
                for number, run in enumerate(self.plan.runs):
                    for checkpoint in run.chosen:
                        self._evaluate(number, run, checkpoint)
                self._collect(0)
                if self.settings.watch:
                    self._watch()
                self.progress.stop()
            except Interrupted as exc:
                stopped = exc
            except KeyboardInterrupt as exc:  # between checkpoints, or while restoring one
                stopped = interrupted(
                    exc, f"{stopped_by(exc)} after {len(self.entries)} checkpoints", ""
                )
            best = None
            if stopped is not None and self.remote is not None:
                self.remote.cancel()  # the units in flight are lost; the rest is journaled
            if stopped is None:
                try:
                    best = self._best_and_confirm(stage)
                except KeyboardInterrupt as exc:
                    stopped = interrupted(exc, f"{stopped_by(exc)} while confirming the best", "")
                except Interrupted as exc:
                    stopped = exc
            deferral.start()
            document = self._document(best, stopped)
            self._write(stage, document)
            storage.commit_outputs(self.out, stage, storage.KIND_SWEEP)
        except OutputError as exc:  # a staged file could not be written: say it of OUT
            raise write_failures.in_out(exc, self.out, stage) from exc.__cause__
        finally:
            shutil.rmtree(stage, ignore_errors=True)
            for runner in [*self.runners, *([self.remote] if self.remote else [])]:
                runner.close()
            late = deferral.finish()
        error = stopped or self._failures(document) or self.video_error
        if late is not None and error is None:
            error = interrupted(late, f"{stopped_by(late)} after the sweep was written", "")
        return document, error

    def _evaluate(self, number: int, run, checkpoint, watching: bool = False) -> Optional[str]:
        """Evaluate one checkpoint (or take it from the journal) and record its entry. Returns
        "retry" when a watched checkpoint failed validation (it may still be being written),
        "deleted" when it went away before it was read."""
        settings = self.settings
        entry = {
            "run": number,
            "step": checkpoint.step,
            "checkpoint": os.path.abspath(checkpoint.path),
            "train_step": None,
            "complete": False,
            "reused": False,
            "error": None,
            "key": None,
            "summary": {},
            "episodes": [],
            "seconds": None,  # validate, restore, episodes (in the sweep that evaluated it)
        }
        started = time.perf_counter()
        try:
            source = sweep_plan.source_for(run, checkpoint, settings)
            checked = validation.validate(
                source,
                settings.eval.trusted_sha256,
                self.saved_models[number],
                keep_bytes=settings.eval.ships_files,
            )
            if run.config is None and source.rebuilt:
                run.config = policy_config_for(settings.eval, source, checked)
        except PytfpolError as exc:
            if not all(os.path.lexists(f) for f in _files(checkpoint)):
                self._note(f"{checkpoint.name}: deleted before it was evaluated; skipped")
                return "deleted"
            if watching:
                return "retry"
            return self._record_failure(entry, exc)
        validate_seconds = time.perf_counter() - started
        entry["key"] = self._key(source, checked, run)
        reused = self.journal.get(entry["key"])
        if reused is not None:
            reused.update(run=number, reused=True, checkpoint=entry["checkpoint"])
            reused.setdefault("seconds", None)
            self._add(reused, source, checked)
            return None
        base = settings.eval
        size = unit_size(base.episodes, base.unit_episodes, self._workers(), self._checkpoints())
        whole = Unit(
            source, self.plan.env, 0, base.episodes, base.seed, self._options(), run.config
        )
        units = whole.pieces(size)
        job = _Job(number, entry, source, checked, len(units), validate_seconds=validate_seconds)
        tag = next(self._tags)
        self.jobs[tag] = job
        runner = self._executor(number)
        hooks = self._hooks(f"step {checkpoint.step}")
        for unit in units:
            runner.submit(unit, checked, hooks, tag=tag)
        self._collect(runner.capacity - 1, runner)
        return None

    def _finish(self, job: _Job) -> None:
        """All units of a checkpoint arrived: its entry, journaled at once."""
        results = sorted(job.results, key=lambda r: r.unit.first)
        key = results[0].key
        merged = merge(results, [(key, i) for i in range(self.settings.eval.episodes)])
        records = list(merged.values())
        episodes, summary, _ = report.summarize_records(self.settings.eval, records)
        job.entry.update(train_step=results[0].train_step, complete=True, summary=summary)
        job.entry["episodes"] = episodes
        restore = sum(r.restore_seconds for r in results)  # summed over the units
        job.entry["seconds"] = {
            "validate": round(job.validate_seconds, 4),
            "restore": round(restore, 4),
            "episodes": round(sum(r.seconds for r in results) - restore, 4),
        }
        self.journal.put(job.entry)
        self._add(job.entry, job.source, job.checked)

    # ----------------------------------------------------------------------- the backend

    def _start_backend(self) -> None:
        """Connect to the remote backend (Ray), if asked for; one progress bar for the sweep
        there, since its units' episodes arrive together."""
        from pytfpol.running.runners import remote_runner

        base = self.settings.eval
        self.remote = remote_runner(
            base.backend, base.ray_address, base.actors, base.shared_path, self._note
        )
        if self.remote is not None:
            total = self._checkpoints() * base.episodes
            self.progress.start(total, f"sweep on {base.backend}", self.plan.max_episode_steps)

    def _executor(self, number: int):
        return self.remote if self.remote is not None else self.runners[number]

    def _workers(self) -> int:
        return 1 if self.remote is None else self.remote.describe()["actors"]

    def _checkpoints(self) -> int:
        return max(1, sum(len(run.chosen) for run in self.plan.runs))

    def _hooks(self, description: str):
        """Locally: a spinner while loading, a bar per checkpoint. Remotely: the sweep's bar."""
        from pytfpol.running.runners import Hooks

        progress = self.progress
        if self.remote is not None:
            return Hooks(on_episode=progress.advance, on_step=progress.step)
        return Hooks(
            on_episode=progress.advance,
            on_step=progress.step,
            loading=lambda unit: progress.stage(f"loading {unit.source.path}"),
            started=lambda unit: progress.start(
                unit.count, description, self.plan.max_episode_steps
            ),
            ended=lambda unit: progress.stop(),
        )

    def _collect(self, limit: int, runner=None) -> None:
        """Take results until at most `limit` units are pending (on `runner`, else on every
        runner); each checkpoint's entry is made and journaled as soon as its units are in."""
        runners = [runner] if runner is not None else [*self.runners, self.remote]
        for each in runners:
            while each is not None and each.pending() > limit:
                done = each.next_result(poll=0.25)
                if done is not None:
                    self._arrived(done)
        if limit == 0 and runner is None and self.jobs:  # a runner lost a unit: never silently
            job = next(iter(self.jobs.values()))
            raise RunError(
                f"step {job.entry['step']}: {job.expected - job.arrived} of its units never "
                "returned a result",
                "a runner lost units of work; this is a bug in pytfpol",
            )

    def _arrived(self, done) -> None:
        result = done.result
        run = None if done.tag == _CONFIRM else self.jobs[done.tag].number
        self.units.append({"run": run, **collect.unit_row(done)})
        if done.tag == _CONFIRM:
            self.confirmed.append(result)
            return
        job = self.jobs[done.tag]
        job.arrived += 1
        if job.arrived == job.expected:
            del self.jobs[done.tag]
        if isinstance(result.error, Interrupted):
            raise result.error  # the checkpoint in progress is lost; the rest is journaled
        if job.failed:
            return
        if result.error is not None:  # the first error is the entry's; its other units ignored
            job.failed = True
            self._record_failure(job.entry, result.error)
            return
        job.results.append(result)
        if len(job.results) == job.expected:
            self._finish(job)

    def _add(self, entry: dict, source, checked) -> None:
        """Record an evaluated entry; keep what was validated of its run's best so far, so
        that confirming the best reads no file again."""
        self.entries.append(entry)
        kept = self.best_inputs.get(entry["run"])
        contenders = [entry] if kept is None else [kept[0], entry]
        loser = (source, checked)
        if sweep_report.best_entry(contenders, self.settings.select) is entry:
            self.best_inputs[entry["run"]] = (entry, source, checked)
            loser = kept[1:] if kept is not None else None
        if loser is not None:  # its checkpoint's bytes (kept to ship on Ray) are not needed again
            loser[1].forget_contents((loser[0].checkpoint_prefix, loser[0].evaluation_prefix))

    def _record_failure(self, entry: dict, exc: PytfpolError) -> None:
        entry["error"] = {"message": exc.message, "exit_code": exc.exit_code}
        self.entries.append(entry)
        self.progress.warn(f"step {entry['step']}: {exc.message}")
        return None

    def _note(self, message: str) -> None:
        self.notes.append(message)
        self.progress.warn(message)

    def _options(self) -> RunOptions:
        return run_options(self.settings.eval)

    def _key(self, source, checked, run) -> str:
        base = self.settings.eval
        graph = None
        if source.saved_model_dir is not None:
            pb = Path(source.saved_model_dir) / layout.SAVED_MODEL_PB
            info = pb.stat()
            graph = [info.st_size, info.st_mtime_ns]
        return journal_module.checkpoint_key(
            [bundle.digest for bundle in checked.bundles.values()],
            {
                "saved_model_pb": graph,
                "config": None
                if run.config is None
                else run.config.source_text or repr(run.config),
                "policy": source.policy_name,
                "env": self.plan.env.env_id,
                "kwargs": dict(base.env_kwargs),
                "max_episode_steps": base.max_episode_steps,
                "episodes": base.episodes,
                "seed": base.seed,
                "stochastic": base.stochastic,
                "allow_partial": base.allow_partial,
                "success_threshold": base.success_threshold,
            },
        )

    def _watch(self) -> None:
        """Evaluate new checkpoints as training writes them, until --watch-timeout passes with
        none or Ctrl-C is pressed while waiting (the sweep then finishes as usual; Ctrl-C while
        a checkpoint is evaluated, or SIGTERM, stops it as interrupted). A checkpoint that fails validation is tried again on the
        next listings (it may still be being written)."""
        settings = self.settings
        # --every / --last chose among the checkpoints there at the start; every new one counts
        seen = [{c.name for c in run.found.checkpoints if c.complete} for run in self.plan.runs]
        tries: dict = {}
        last_new = time.monotonic()
        while True:
            found = False
            for number, run in enumerate(self.plan.runs):
                for checkpoint in sweep_plan.new_checkpoints(run, settings, seen[number]):
                    outcome = self._evaluate(number, run, checkpoint, watching=True)
                    if outcome == "retry":
                        tries[checkpoint.name] = tries.get(checkpoint.name, 0) + 1
                        if tries[checkpoint.name] < WATCH_TRIES:
                            continue
                        self._evaluate(number, run, checkpoint)  # record why it fails
                    seen[number].add(checkpoint.name)
                    found = True
            self._collect(0)  # every result of this listing journaled before the next
            if found:
                last_new = time.monotonic()
            elif (
                settings.watch_timeout is not None
                and time.monotonic() - last_new > settings.watch_timeout
            ):
                return
            try:
                self.progress.stage("watching for new checkpoints (Ctrl-C ends the watch)")
                time.sleep(settings.poll_seconds)
            except Terminated:
                raise
            except KeyboardInterrupt:  # while idle, Ctrl-C is how a watch without timeout ends
                self._note("watching ended by Ctrl-C")
                return

    # ------------------------------------------------------------------------------- best

    def _best_and_confirm(self, stage: Path) -> Optional[dict]:
        """Each run's best checkpoint by --select; the best of all re-evaluated on fresh seeds
        (the episodes after the sweep's) and written to OUT/best/ as an eval output."""
        settings = self.settings
        overall = None
        for number, run in enumerate(self.plan.runs):
            entries = [e for e in self.entries if e["run"] == number]
            best = sweep_report.best_entry(entries, settings.select)
            run.best = best
            if best is not None and (
                overall is None
                or best["summary"][settings.select] > overall["summary"][settings.select]
            ):
                overall = best
        if overall is None:
            return None
        confirmation = None
        if settings.confirm > 0:
            confirmation = self._confirm(overall, stage / layout.BEST_DIR)
        video = None
        if settings.video_best:
            episodes = (confirmation or overall)["episodes"]
            video = self._video(overall, episodes, stage / storage.VIDEOS_DIR)
        return {"entry": overall, "confirmation": confirmation, "video": video}

    def _best_inputs(self, entry: dict) -> tuple:
        """The best entry's run number, source and validated inputs (kept when it was
        evaluated, so nothing is read again)."""
        number, settings = entry["run"], self.settings
        kept = self.best_inputs.get(number)
        if kept is not None and kept[0] is entry:
            return number, kept[1], kept[2]
        run = self.plan.runs[number]  # not kept (cannot happen for an entry of this sweep)
        checkpoint = next(c for c in run.found.checkpoints if c.step == entry["step"])
        source = sweep_plan.source_for(run, checkpoint, settings)
        checked = validation.validate(
            source, settings.eval.trusted_sha256, self.saved_models[number]
        )
        return number, source, checked

    def _video(self, entry: dict, episodes: list, directory: Path) -> Optional[dict]:
        """--video-best: the median episode re-run on the run's worker and recorded. A failure
        to render is noted, and makes the exit code once the sweep is written; one to write
        stops the sweep before its outputs are committed (exit 5)."""
        number, source, checked = self._best_inputs(entry)
        run, base = self.plan.runs[number], self.settings.eval

        def run_episode(index: int, observer):
            unit = Unit(
                source, self.plan.env, index, 1, base.seed, self._options(), run.config
            )  # fmt: skip
            if self.remote is not None:  # the local worker loaded it with one env (_confirm)
                unit = unit.with_one_env()
            self.progress.stage(f"recording episode {index} of step {entry['step']}")
            return self.runners[number].run(unit, checked, observer=observer)

        try:
            video, notes = best_video.record_median_episode(
                episodes, entry["step"], run_episode, self.plan.env, directory, base.video_format
            )
        except (InputError, RunError, UsageError) as exc:  # an OutputError stops the commit
            self.video_error = exc
            self._note(f"--video-best: {exc.message}")
            return None
        for note in notes:
            self._note(note)
        video["path"] = str(self.out / storage.VIDEOS_DIR / video.pop("file"))
        return video

    def _confirm(self, entry: dict, directory: Path) -> Optional[dict]:
        """The best checkpoint on `--confirm-episodes` fresh seeds: a unit of episodes
        N .. N+M-1 (seeds S+N ...), on the run's worker; its eval output in `directory`."""
        settings = self.settings
        number, source, checked = self._best_inputs(entry)
        run = self.plan.runs[number]
        base = settings.eval
        whole = Unit(
            source, self.plan.env, base.episodes, settings.confirm, base.seed, self._options(),
            run.config,
        )  # fmt: skip
        records, problem = self._run_confirmation(number, whole, checked, entry["step"])
        if problem is not None:
            if isinstance(problem, Interrupted):
                raise problem
            self._note(f"the best checkpoint could not be re-evaluated: {problem.message}")
            return None
        loaded = (
            self.runners[number]
            .worker_for(whole if self.remote is None else whole.with_one_env(), checked)
            .loaded
        )
        directory.mkdir()
        staged = output_checkpoint.write(loaded, directory, records, None)
        best_settings = dataclasses.replace(base, policy_path=run.path, step=entry["step"])
        document = report.report_base(
            best_settings, source, loaded, directory, self.plan.env.env_id, (), checked
        )
        document["output"]["checkpoint"] = staged
        document = report.finish_report(document, best_settings, records, None, 0.0, 0.0)
        final = self.out / layout.BEST_DIR
        document["output"] = {
            **document["output"],
            "dir": str(final),
            "stats": str(final / layout.STATS_JSON),
            "episodes": str(final / layout.EPISODES_CSV),
            "checkpoint": str(final / Path(staged).relative_to(directory)),
        }
        storage.write_report(directory, document)
        return document

    def _run_confirmation(self, number: int, whole: Unit, checked, step) -> tuple:
        """The confirmation's episodes (as units on the backend) and the error that stopped
        them, if any."""
        base = self.settings.eval
        size = unit_size(whole.count, base.unit_episodes, self._workers())
        units = whole.pieces(size)
        runner = self._executor(number)
        if self.remote is not None:
            self.progress.start(whole.count, f"best (step {step}), fresh seeds")
        hooks = self._hooks(f"best (step {step}), fresh seeds")
        self.confirmed = []
        for unit in units:
            runner.submit(unit, checked, hooks, tag=_CONFIRM)
        try:
            self._collect(0, runner)
        finally:
            if self.remote is not None:
                self.progress.stop()
        results = sorted(self.confirmed, key=lambda r: r.unit.first)
        for result in results:
            if result.error is not None:
                if runner.pending():
                    runner.cancel()
                return [], result.error
        key = results[0].key
        merged = merge(results, [(key, whole.first + i) for i in range(whole.count)])
        return list(merged.values()), None

    # ------------------------------------------------------------------------------- outputs

    def _document(self, best: Optional[dict], stopped: Optional[PytfpolError]) -> dict:
        settings, base = self.settings, self.settings.eval
        runs = []
        for number, run in enumerate(self.plan.runs):
            chosen = getattr(run, "best", None)
            runs.append(
                {
                    "path": run.path,
                    "directory": run.found.directory,
                    "kind": run.found.kind,
                    "checkpoints": sum(1 for e in self.entries if e["run"] == number),
                    "best": None if chosen is None else _best_summary(chosen, settings.select),
                }
            )
        overall = None
        if best is not None:
            overall = _best_summary(best["entry"], settings.select)
            confirmation = best["confirmation"]
            overall["confirmation"] = None if confirmation is None else confirmation["summary"]
            overall["output"] = None if confirmation is None else confirmation["output"]["dir"]
            overall["video"] = best["video"]
            runs[best["entry"]["run"]]["best"]["video"] = best["video"]
            run_best = runs[best["entry"]["run"]]["best"]
            run_best["confirmation"] = overall["confirmation"]
        judged = (overall or {}).get("confirmation") or ((overall or {}).get("summary") or {})
        gate_results = gates.evaluate(base.all_gates, judged, stopped is None and bool(overall))
        entries = sorted(self.entries, key=lambda e: (e["run"], e["step"] is None, e["step"] or 0))
        return {
            "schema_version": sweep_report.SWEEP_SCHEMA_VERSION,
            "kind": "sweep",
            "complete": stopped is None,
            "error": None
            if stopped is None
            else {"message": stopped.message, "exit_code": stopped.exit_code},
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "policy": {
                "path": " ".join(settings.paths),
                "resolved_path": _identity(settings, self.plan)["policy"],
                "policy": base.policy,
                "stochastic": base.stochastic,
            },
            "env": {
                "id": self.plan.env.env_id,
                "requested_id": base.env_id,
                "kwargs": dict(base.env_kwargs),
                "max_episode_steps": base.max_episode_steps,
            },
            "settings": {
                "episodes": base.episodes,
                "seed": base.seed,
                "num_envs": base.num_envs_used,
                "vector": base.vector,
                "select": settings.select,
                "confirm_episodes": settings.confirm,
                "steps": None if settings.steps is None else list(settings.steps),
                "every": settings.every,
                "last": settings.last,
                "watch": settings.watch,
            },
            "runs": runs,
            "checkpoints": entries,
            "backend": self._backend(),
            "best": overall,
            "aggregate": sweep_report.aggregate(entries, settings.paths, settings.select),
            "gates": gate_results,
            "passed": stopped is None
            and bool(gate_results or overall)
            and all(g["passed"] for g in gate_results),
            "warnings": self.notes,
            "timing": {"seconds": round(time.perf_counter() - self.started, 3)},
            "versions": report.versions(),
            "output": {
                "dir": str(self.out),
                "sweep": str(self.out / layout.SWEEP_JSON),
                "curve": str(self.out / layout.CURVE_CSV),
                "episodes": str(self.out / layout.EPISODES_CSV),
                "plot": str(self.out / layout.CURVE_PNG),
                "tensorboard": str(self._tensorboard_dir()),
                "best": str(self.out / layout.BEST_DIR) if overall and overall["output"] else None,
            },
        }

    def _backend(self) -> dict:
        """Who ran the units (backend, address without credentials, actors) and where each
        unit ran (host, process, attempts)."""
        base = self.settings.eval
        runner = self.remote if self.remote is not None else self.runners[0]
        size = unit_size(base.episodes, base.unit_episodes, self._workers(), self._checkpoints())
        units = sorted(
            self.units,
            key=lambda u: (u["run"] is None, u["run"] or 0, u["step"] or 0, u["first"]),
        )
        return {**runner.describe(), "unit_episodes": size or base.episodes, "units": units}

    def _tensorboard_dir(self) -> Path:
        if self.settings.tensorboard:
            return Path(self.settings.tensorboard)
        return self.out / layout.TENSORBOARD_DIR

    def _write(self, stage: Path, document: dict) -> None:
        entries = document["checkpoints"]
        storage.write_atomic(stage / layout.CURVE_CSV, sweep_report.curve_csv(entries).encode())
        storage.write_atomic(
            stage / layout.EPISODES_CSV, sweep_report.episodes_csv(entries).encode()
        )
        if any(e["error"] is None for e in entries):
            plots.write_curve_plot(document, stage / layout.CURVE_PNG)
        board = (
            Path(self.settings.tensorboard)
            if self.settings.tensorboard
            else stage / layout.TENSORBOARD_DIR
        )
        sweep_report.write_tensorboard(board, entries, list(self.settings.paths))
        storage.write_atomic(stage / layout.SWEEP_JSON, storage.report_json(document).encode())

    def _failures(self, document: dict) -> Optional[PytfpolError]:
        failed = [e for e in document["checkpoints"] if e["error"] is not None]
        if not failed:
            return None
        first = failed[0]
        error = (InputError if first["error"]["exit_code"] == 3 else RunError)(
            f"{len(failed)} of {len(document['checkpoints'])} checkpoints could not be "
            f"evaluated, e.g. step {first['step']}: {first['error']['message']}",
            f"the others are in {document['output']['sweep']}",
        )
        error.exit_code = first["error"]["exit_code"]
        return error


_CONFIRM = "confirm"  # the tag of the best's confirmation units


@dataclass
class _Job:
    """A checkpoint whose units are submitted: its entry, made when they are all in."""

    number: int
    entry: dict
    source: object
    checked: object
    expected: int  # units
    results: list = field(default_factory=list)
    arrived: int = 0
    failed: bool = False
    validate_seconds: float = 0.0


def _best_summary(entry: dict, statistic: str) -> dict:
    return {
        "run": entry["run"],
        "step": entry["step"],
        "checkpoint": entry["checkpoint"],
        "statistic": statistic,
        "value": entry["summary"][statistic],
        "summary": entry["summary"],
        "confirmation": None,
        "video": None,
    }


def _files(checkpoint) -> list[str]:
    return [f"{checkpoint.prefix}.index"]
