#!/usr/bin/env python
"""`make mutants`: break each promise of the docs on purpose and check that a test notices.

Every mutant below is one small edit of pytfpol's code that breaks one promise, and names the
tests that hold that promise. Each is applied alone, in a temporary copy of the repository, and
only its tests are run there: the mutant is *killed* when they fail, and *survives* when they
pass (a promise no test holds). The exit code is 1 when any mutant survives or does not apply.

    python tools/mutants.py [--list] [NAME ...]

Not part of `make test` (each mutant costs a test run, several minutes in all); run it when the
code or tests of a promise change. `docs/claims.md` lists each promise with its tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REC = "tests/test_recording.py::"
RAY = "tests/test_ray.py::"
COPIED = ("pytfpol", "tests", "configs", "examples", "pyproject.toml")


@dataclass(frozen=True)
class Mutant:
    name: str
    promise: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS = [
    Mutant(
        "commit-file-by-file",
        "an output set is committed whole: the old set or the new one, never a mixture",
        "pytfpol/results/storage.py",
        "        commit = out / (COMMIT_PREFIX + stage.name[len(PENDING_PREFIX) :])\n"
        "        os.rename(stage, commit)\n        _fsync_dir(out)\n        apply_commit(out, commit)",
        "        apply_commit(out, stage)  # each output moved into place, no commit point",
        (
            "tests/test_faults.py::test_kill_9_at_every_step_of_the_commit_leaves_the_old_set_or_the_new",
        ),
    ),
    Mutant(
        "damaged-index-treated-as-missing",
        "a damaged newest checkpoint is refused (exit 3) naming the file, with or without --step",
        "pytfpol/formats/layout.py",
        '    if not _exists(prefix, ".index"):\n        return (f"{prefix}.index",)',
        '    if not os.path.isfile(f"{prefix}.index"):\n        return (f"{prefix}.index",)',
        ("tests/test_faults.py::test_damaged_checkpoint_file",),
    ),
    Mutant(
        "evaluation-inside-the-policy-checkpoint",
        "OUT/checkpoint loads with PyTFPolicy.restore(dir) as TF-Agents calls it",
        "pytfpol/policy/loading.py",
        "            self.session, self.checkpoint_objects, target, self.checkpoint_name",
        "            self.session, {**self.checkpoint_objects, checkpoints.EVALUATION: evaluation},\n"
        "            target, self.checkpoint_name",
        ("tests/test_checkpointer.py::test_output_checkpoint_loads_with_pytfpolicy_restore",),
    ),
    Mutant(
        "no-action-check",
        "an out-of-spec or NaN action stops the run with exit 4",
        "pytfpol/running/evaluation.py",
        "    if slots.action_bounds.all_within(action, active):\n        return\n",
        "    return\n",
        ("tests/test_faults.py::test_out_of_spec_actions_stop_the_run",),
    ),
    Mutant(
        "no-recurrent-state-reset",
        "policy state is reset for exactly the slots that start an episode",
        "pytfpol/running/evaluation.py",
        "    if not tf.nest.flatten(state):\n        return state\n    starting = step_type",
        "    return state\n    starting = step_type",
        (
            "tests/test_parallel.py::test_state_is_reset_for_each_episode_by_the_loop",
            "tests/test_parallel.py::test_reset_state_replaces_exactly_the_starting_rows",
            "tests/test_parallel.py::test_loop_resets_state_per_episode_in_every_group",
        ),
    ),
    Mutant(
        "loop-skips-state-reset",
        "policy state is reset for exactly the slots that start an episode, in every group",
        "pytfpol/running/evaluation.py",
        "        lane.state = _reset_state(lane.state, lane.initial_state, lane.step_type)\n",
        "",
        ("tests/test_parallel.py::test_loop_resets_state_per_episode_in_every_group",),
    ),
    Mutant(
        "groups-share-one-scatter-row-order",
        "per-episode results do not depend on the number of pipelined groups",
        "pytfpol/running/evaluation.py",
        "            full[slots] = leaf[rows]\n",
        "            full[slots] = leaf[: len(slots)]\n",
        ("tests/test_parallel.py::test_results_identical_for_any_group_count",),
    ),
    Mutant(
        "batch-call-shifts-episode-step",
        "--stochastic draws depend only on the episode's seed and step, whatever the call path",
        "pytfpol/policy/batch_call.py",
        "sampling.episode_key(seeds), steps.astype(np.int32)",
        "sampling.episode_key(seeds), (steps + 1).astype(np.int32)",
        ("tests/test_determinism.py::test_batch_call_equals_py_tf_policy_action",),
    ),
    Mutant(
        "large-tensor-pieces-accepted-unseen",
        "non-finite weights are refused before TensorFlow reads them, also in tensors over 1 MiB",
        "pytfpol/formats/checkpoint_reader.py",
        "        return accept is None or bool(accept(entry, piece.view(dtype)))\n",
        "        return True\n",
        ("tests/test_faults.py::test_large_tensor_non_finite_values_counted_exactly",),
    ),
    Mutant(
        "stochastic-ignored",
        "--stochastic samples, seeded by --seed",
        "pytfpol/policy/networks.py",
        "    if stochastic:\n        return saved.wrapped_policy",
        "    if False:\n        return saved.wrapped_policy",
        ("tests/test_checkpointer.py::test_stochastic_is_seeded",),
    ),
    Mutant(
        "failed-run-keeps-the-old-checkpoint",
        "a failed or interrupted run over a complete output keeps no stale policy checkpoint",
        "pytfpol/results/storage.py",
        '    for name in manifest["unset"]:',
        '    for name in manifest["unset"][:0]:',
        (
            "tests/test_faults.py::test_an_interrupted_run_over_a_complete_output_keeps_its_history",
            "tests/test_faults.py::test_a_failed_run_over_another_policys_output_leaves_no_stale_checkpoint",
        ),
    ),
    Mutant(
        "step-ignored",
        "--step N evaluates the checkpoint at step N",
        "pytfpol/formats/layout.py",
        "    if step is not None:\n        return Selection(_at_step(layout, step))\n",
        "",
        (
            "tests/test_sources.py::test_step_selects_the_learner_checkpoint_at_that_step",
            "tests/test_newcomer.py::test_step_and_checkpoint_pick_what_eval_evaluates",
        ),
    ),
    Mutant(
        "checkpoint-option-ignored",
        "--checkpoint PATH evaluates that checkpoint",
        "pytfpol/formats/layout.py",
        "    if checkpoint is not None:\n        return Selection(_given_checkpoint(layout, Path(checkpoint)))\n",
        "",
        (
            "tests/test_sources.py::test_checkpoint_option_takes_a_checkpointer_prefix",
            "tests/test_newcomer.py::test_step_and_checkpoint_pick_what_eval_evaluates",
        ),
    ),
    Mutant(
        "inapplicable-options-ignored",
        "an option that means nothing for the input is refused (exit 2)",
        "pytfpol/running/plan.py",
        '    if source.format != FORMAT_CHECKPOINTER:\n        why = "its graph',
        '    if False:\n        why = "its graph',
        ("tests/test_newcomer.py::test_options_that_mean_nothing_for_a_saved_model_are_refused",),
    ),
    Mutant(
        "report-says-what-was-asked",
        "the report states whether actions were sampled, as they really were",
        "pytfpol/results/report.py",
        '            "stochastic": loaded.stochastic,',
        '            "stochastic": settings.stochastic,',
        ("tests/test_newcomer.py::test_the_report_says_when_a_saved_policy_samples",),
    ),
    Mutant(
        "sampling-saved-model-unseeded",
        "a SavedModel that samples is sampled with a seed pytfpol controls",
        "pytfpol/policy/loading.py",
        "            dataclasses.replace(options, stochastic=sample),",
        "            options,",
        ("tests/test_newcomer.py::test_the_report_says_when_a_saved_policy_samples",),
    ),
    Mutant(
        "sigterm-not-handled",
        "SIGTERM writes the completed episodes and exits 143",
        "pytfpol/interrupts.py",
        "    previous = signal.signal(signal.SIGTERM, _raise_terminated)",
        "    previous = signal.getsignal(signal.SIGTERM)",
        (
            "tests/test_faults.py::test_ctrl_c_and_sigterm_stop_promptly_and_write_the_completed_episodes",
        ),
    ),
    Mutant(
        "signals-not-deferred-in-the-final-write",
        "Ctrl-C in the final write does not lose the report",
        "pytfpol/interrupts.py",
        "        if threading.current_thread() is not threading.main_thread() or self._previous:",
        "        if True:",
        ("tests/test_faults.py::test_ctrl_c_in_the_final_write_does_not_lose_the_report",),
    ),
    Mutant(
        "rerun-drops-the-history",
        "a re-run of the same policy into the same OUT appends to its history",
        "pytfpol/results/output_checkpoint.py",
        "    if claim.previous_report is None:\n        return None\n",
        "    return None\n",
        ("tests/test_cli.py::test_a_rerun_into_the_same_out_appends_to_its_history",),
    ),
    Mutant(
        "foreign-out-overwritten",
        "--out holding files pytfpol did not write is refused (exit 5)",
        "pytfpol/results/storage.py",
        "    if foreign and not overwrite:",
        "    if False:",
        ("tests/test_cli.py::test_out_with_foreign_files_or_another_policys_results_is_refused",),
    ),
    Mutant(
        "env-checked-after-tensorflow",
        "env mistakes are reported before TensorFlow is imported",
        "pytfpol/running/plan.py",
        "    made = preflight(spec)\n",
        "    import tensorflow  # noqa: F401\n\n    made = preflight(spec)\n",
        ("tests/test_newcomer.py::test_env_mistakes_are_reported_before_tensorflow_is_imported",),
    ),
    Mutant(
        "requested-env-id-recorded",
        "the report records the env id Gymnasium really made",
        "pytfpol/running/plan.py",
        "    env = EnvSpec(made.made_id, spec.kwargs, spec.max_episode_steps)",
        "    env = EnvSpec(spec.env_id, spec.kwargs, spec.max_episode_steps)",
        (
            "tests/test_newcomer.py::test_an_unversioned_env_id_records_the_id_made_and_warns_plainly",
        ),
    ),
    Mutant(
        "paths-not-resolved",
        "outputs record resolved paths: they evaluate again from any directory",
        "pytfpol/results/report.py",
        "    return None if path is None else os.path.abspath(path)",
        "    return path",
        ("tests/test_cli.py::test_outputs_of_a_learner_root_evaluate_again_from_anywhere",),
    ),
    Mutant(
        "incomplete-newest-used",
        "a newest checkpoint whose files are not all there is skipped, with a warning",
        "pytfpol/formats/layout.py",
        "    complete = [c for c in layout.checkpoints if c.complete]",
        "    complete = list(layout.checkpoints)",
        ("tests/test_sources.py::test_newest_checkpoint_without_index_is_skipped_with_a_warning",),
    ),
    Mutant(
        "worker-never-restores",
        "a unit's checkpoint is restored into the graph built for another (a sweep's graph is built once)",
        "pytfpol/running/worker.py",
        "        if unit.source != self.current:",
        "        if False:",
        ("tests/test_units.py::test_restoring_b_into_a_graph_built_for_a_is_a_fresh_run_of_b",),
    ),
    Mutant(
        "statistics-not-restored",
        "restoring a checkpoint sets its normalisation statistics",
        "pytfpol/policy/loading.py",
        "    if normalizer is not None:\n        shape",
        "    if normalizer is not None and source.checkpoint_step == 4:\n        shape",
        ("tests/test_units.py::test_the_normalisation_statistics_travel_with_the_checkpoint",),
    ),
    Mutant(
        "tensorflow-reads-the-checkpoints",
        "an eval opens each input checkpoint file once (TensorFlow none)",
        "pytfpol/policy/loading.py",
        "            options=tf.saved_model.LoadOptions(experimental_skip_checkpoint=True),",
        "            options=tf.saved_model.LoadOptions(experimental_skip_checkpoint=False),",
        ("tests/test_units.py::test_an_eval_opens_each_input_checkpoint_file_once",),
    ),
    Mutant(
        "merge-accepts-duplicates",
        "merged results refuse an episode run twice",
        "pytfpol/running/units.py",
        "            if key in merged:",
        "            if False:",
        ("tests/test_units.py::test_merge_refuses_a_duplicate",),
    ),
    Mutant(
        "progress-only-per-episode",
        "the progress bar advances with every step",
        "pytfpol/running/evaluation.py",
        "        if on_step is not None:\n            on_step(active.size)\n",
        "",
        ("tests/test_newcomer.py::test_progress_advances_with_every_step",),
    ),
    Mutant(
        "report-digest-misses-bytes",
        "the report's sha256 of each policy file is the file's (what replay re-checks)",
        "pytfpol/formats/checkpoint_reader.py",
        "                self._digest.update(piece)\n",
        "                self._digest.update(piece[1:])\n",
        ("tests/test_cli.py::test_eval_json_is_the_report_and_matches_the_files",),
    ),
    Mutant(
        "start-up-gc-walks-the-imports",
        "start-up: TensorFlow's imports are frozen out of the cyclic GC (pytfpol eval starts faster "
        "than TF-Agents' own import and load)",
        "pytfpol/quiet_tf.py",
        "            gc.freeze()\n",
        "            pass\n",
        ("tests/test_cli.py::test_heavy_imports_run_without_gc_then_freeze_and_restore_it",),
    ),
    Mutant(
        "ray-driver-reads-the-files-again",
        "on Ray the driver ships the bytes validation read: it opens each checkpoint file once",
        "pytfpol/running/shipping.py",
        "        data = kept(path) if kept is not None else None\n",
        "        data = None\n",
        (RAY + "test_the_driver_opens_each_checkpoint_file_once",),
    ),
    Mutant(
        "sweep-seeds-shifted",
        "each checkpoint of a sweep is evaluated exactly as eval --step N",
        "pytfpol/sweep.py",
        "source, self.plan.env, 0, base.episodes, base.seed, self._options(), run.config",
        "source, self.plan.env, 0, base.episodes, base.seed + 1, self._options(), run.config",
        (
            "tests/test_sweep.py::test_learner_sweep_equals_eval_of_each_step_and_confirms_on_fresh_seeds",
        ),
    ),
    Mutant(
        "best-confirmed-on-the-same-seeds",
        "the best checkpoint is re-evaluated on fresh seeds S+N ..",
        "pytfpol/sweep.py",
        "self.plan.env, base.episodes, settings.confirm,",
        "self.plan.env, 0, settings.confirm,",
        (
            "tests/test_sweep.py::test_learner_sweep_equals_eval_of_each_step_and_confirms_on_fresh_seeds",
        ),
    ),
    Mutant(
        "gates-judge-the-sweep-summary",
        "gates judge the best checkpoint's fresh-seed re-evaluation",
        "pytfpol/sweep.py",
        '        judged = (overall or {}).get("confirmation") or',
        "        judged = None or",
        ("tests/test_sweep.py::test_two_runs_aggregate_per_step_and_gate_on_the_confirmed_best",),
    ),
    Mutant(
        "journal-not-consulted",
        "a re-run into the same --out evaluates only what its journal lacks",
        "pytfpol/sweep.py",
        '        reused = self.journal.get(entry["key"])',
        "        reused = None",
        (
            "tests/test_sweep.py::test_checkpointer_sweep_equals_eval_of_each_step_and_resumes_from_its_journal",
        ),
    ),
    Mutant(
        "journal-key-ignores-the-episodes",
        "a sweep with other settings reuses nothing from the journal",
        "pytfpol/sweep.py",
        '                "max_episode_steps": base.max_episode_steps,\n'
        '                "episodes": base.episodes,\n',
        '                "max_episode_steps": base.max_episode_steps,\n',
        (
            "tests/test_sweep.py::test_checkpointer_sweep_equals_eval_of_each_step_and_resumes_from_its_journal",
        ),
    ),
    Mutant(
        "failed-checkpoint-stops-the-sweep",
        "a damaged checkpoint is an entry with its error, and the sweep goes on",
        "pytfpol/sweep.py",
        "            return self._record_failure(entry, exc)",
        "            raise exc",
        (
            "tests/test_sweep.py::test_damaged_checkpoint_in_the_middle_is_recorded_and_the_sweep_goes_on",
        ),
    ),
    Mutant(
        "half-written-checkpoint-taken",
        "--watch evaluates checkpoints training writes, not half-written ones",
        "pytfpol/running/sweep_plan.py",
        "        if not checkpoint.complete:",
        "        if False:",
        ("tests/test_sweep.py::test_watch_evaluates_checkpoints_written_while_it_watches",),
    ),
    Mutant(
        "video-run-other-seeds",
        "recording videos changes no result: per-episode returns equal a run without --video",
        "pytfpol/running/worker.py",
        "                    unit.seed,\n                    on_episode=on_episode,",
        "                    unit.seed + (observer is not None),\n"
        "                    on_episode=on_episode,",
        (REC + "test_video_frames_are_length_plus_one_padded_and_change_no_result",),
    ),
    Mutant(
        "video-resized-not-padded",
        "MP4 frames are padded with black to multiples of 16, never resized",
        "pytfpol/running/video.py",
        'writer.append_data(pad_frame(image) if video_format == "mp4" else image)',
        "writer.append_data(image)",
        (REC + "test_video_frames_are_length_plus_one_padded_and_change_no_result",),
    ),
    Mutant(
        "video-without-reset-frame",
        "a video has length + 1 frames: the reset frame and one per step",
        "pytfpol/running/video.py",
        "        _append(writer, env, spec, path, video_format)\n        frames = 1",
        "        frames = 0",
        (REC + "test_video_frames_are_length_plus_one_padded_and_change_no_result",),
    ),
    Mutant(
        "replay-another-seed",
        "replay runs episode K with its own seed S+K and reproduces it exactly",
        "pytfpol/replay.py",
        '        seed=record["seed"],',
        '        seed=record["seed"] + 1,',
        (REC + "test_replay_reproduces_an_episode_of_a_num_envs_8_run",),
    ),
    Mutant(
        "replay-mismatch-ignored",
        "a replay whose return or length differs is exit 4 naming both",
        "pytfpol/replay.py",
        '    identical = all(replayed[f] == record[f] for f in ("return", "length"))',
        "    identical = True",
        (REC + "test_replay_detects_a_non_deterministic_env",),
    ),
    Mutant(
        "replay-ignores-changed-files",
        "replay refuses (exit 3, naming it) a policy file changed since the evaluation",
        "pytfpol/replay.py",
        "    provenance.check_unchanged(files, f\"the evaluation in {report['output']['dir']}\")",
        "    pass",
        (REC + "test_replay_refuses_a_changed_policy_file",),
    ),
    Mutant(
        "trajectory-without-policy-info",
        "trajectories hold the policy's info per step (e.g. distribution parameters)",
        "pytfpol/running/trajectories.py",
        '        info = [] if action_step.info is None else flat(action_step.info, "info")',
        "        info = []",
        (REC + "test_replay_of_a_sampling_policy_records_its_distribution_per_step",),
    ),
    Mutant(
        "minari-without-seeds",
        "each Minari episode carries its pytfpol episode's seed",
        "pytfpol/results/minari_export.py",
        "                seed=trajectory.seed,",
        "                seed=None,",
        (REC + "test_minari_dataset_loads_back_with_the_same_returns_and_seeds",),
    ),
    Mutant(
        "ray-block-reseeded",
        "--backend ray gives the local run's per-episode results, for any actors and unit size",
        "pytfpol/running/ray_runner.py",
        "            result = worker.run(local_unit, checked)",
        "            result = worker.run(\n"
        '                type(local_unit)(**{**local_unit.__dict__, "seed": local_unit.seed + 1}),\n'
        "                checked,\n"
        "            )",
        (
            RAY + "test_sweep_on_ray_equals_the_local_sweep",
            RAY + "test_eval_on_ray_equals_the_local_eval",
        ),
    ),
    Mutant(
        "dead-worker-unit-dropped",
        "a Ray worker killed mid-sweep loses no episode: its unit runs again",
        "pytfpol/running/ray_runner.py",
        "                self._queue.appendleft(job)  # again, whole: its records count once",
        "                pass  # dropped",
        (RAY + "test_a_worker_killed_mid_sweep_changes_nothing",),
    ),
    Mutant(
        "dead-worker-unit-sent-twice",
        "a Ray worker killed mid-sweep counts no episode twice",
        "pytfpol/running/ray_runner.py",
        "                self._queue.appendleft(job)  # again, whole: its records count once",
        "                self._queue.appendleft(job)\n"
        "                self._queue.append(_Job(**{**job.__dict__}))",
        (RAY + "test_a_worker_killed_mid_sweep_changes_nothing",),
    ),
    Mutant(
        "shipped-bytes-unchecked",
        "a worker checks the sha256 of shipped policy files before writing or using them",
        "pytfpol/running/shipping.py",
        '            _check(os.path.join(files.root, name), data, sha, size, "arrived damaged")',
        "            pass",
        (RAY + "test_shipped_bytes_are_checked_before_they_are_written",),
    ),
    Mutant(
        "worker-digests-not-compared",
        "a policy file that differs on a worker from the one validated is an input error (exit 3)",
        "pytfpol/running/shipping.py",
        "    for driver_set, local_set in zip(shipment.sets, local.sets):",
        "    for driver_set, local_set in zip(shipment.sets, local.sets[:0]):",
        (RAY + "test_a_file_that_differs_on_the_worker_is_an_input_error_not_retried",),
    ),
    Mutant(
        "ray-keeps-its-sigterm-handler",
        "SIGTERM on a Ray run's driver cancels the units and writes what completed (exit 143)",
        "pytfpol/running/ray_runner.py",
        "                _restore_signal_handlers(handlers)",
        "                pass",
        (RAY + "test_sigterm_cancels_the_units_and_writes_what_completed",),
    ),
    # --- issue 23: output set (points 1-4) ---
    # (this part's mutants go below)
    #
    # --- issue 23: write failures and missing TensorFlow (points 8-9) ---
    # (this part's mutants go below)
    #
    # --- issue 23: no code from data (point 5) ---
    # (this part's mutants go below)
    #
    # --- issue 23: FIFOs, devices, size limits (points 6-7) ---
    # (this part's mutants go below)
    #
    # --- issue 23: non-finite rewards and the untested promises (point 10 and the classes) ---
    # (this part's mutants go below)
    #
    # --- issue 24 environments ---
    # (this part's mutants go below)
    #
    # --- issue 24 networks ---
    # (this part's mutants go below)
    #
    # --- issue 26 speed at scale ---
    Mutant(
        "sweep-detects-per-checkpoint",
        "a sweep lists a run's directory once per pass, not once per checkpoint",
        "pytfpol/running/sweep_plan.py",
        "    return source_from_layout(run.found, settings.eval.policy, step=checkpoint.step)",
        "    from pytfpol.formats.sources import resolve_policy_source\n\n"
        "    return resolve_policy_source(run.path, settings.eval.policy, step=checkpoint.step)",
        ("tests/test_sources.py::test_a_run_of_many_checkpoints_is_listed_once",),
    ),
    Mutant(
        "detect-lists-per-question",
        "detecting a layout lists each directory once",
        "pytfpol/formats/layout.py",
        "    if listings is not None and key in listings:",
        "    if False:",
        ("tests/test_sources.py::test_a_run_of_many_checkpoints_is_listed_once",),
    ),
    Mutant(
        "checkpointer-dir-listed-per-checkpoint",
        "listing a Checkpointer directory of N checkpoints is one listdir",
        "pytfpol/formats/layout.py",
        "        missing = _missing_from(name in indexed, name in with_data)",
        "        missing = [m[len(prefix) :] for m in _missing_bundle(Path(prefix))]",
        ("tests/test_sources.py::test_listing_a_checkpointer_dir_on_its_own_lists_it_once",),
    ),
    Mutant(
        "listed-index-must-be-a-file",
        "an .index of any file type counts (validation judges it), from one listing too",
        "pytfpol/formats/layout.py",
        "        index = CKPT_INDEX_RE.match(name)\n",
        "        index = CKPT_INDEX_RE.match(name)\n"
        "        index = index if os.path.isfile(os.path.join(directory, name)) else None\n",
        ("tests/test_sources.py::test_an_index_of_any_file_type_counts_and_is_left_to_validation",),
    ),
    Mutant(
        "jackknife-iqm-wrong-window",
        "the closed-form jackknife of the IQM equals leaving each episode out (scipy's BCa)",
        "pytfpol/stats.py",
        "        window(cut + 1, n - cut),",
        "        window(cut, n - cut - 1),",
        ("tests/test_statistics.py::test_closed_form_jackknife_equals_leaving_each_episode_out",),
    ),
    Mutant(
        "bca-without-bias-correction",
        "BCa intervals equal scipy.stats.bootstrap's with the same random state",
        "pytfpol/stats.py",
        "        z0 = ndtri((below + at_or_below) / (2 * distribution.shape[-1]))",
        "        z0 = 0.0",
        ("tests/test_statistics.py::test_bca_interval_equals_scipys_with_the_same_random_state",),
    ),
    Mutant(
        "unpaired-difference-jackknifed-as-paired",
        "BCa intervals of differences equal scipy's, paired and unpaired",
        "pytfpol/stats.py",
        "        if paired:\n            return [leave_one_out(cand) - leave_one_out(base)]",
        "        if True:\n            return [leave_one_out(cand) - leave_one_out(base)]",
        ("tests/test_statistics.py::test_bca_interval_equals_scipys_with_the_same_random_state",),
    ),
    Mutant(
        "no-switch-above-the-stated-size",
        "above 5,000 episodes the intervals are normal-approximation intervals, as documented",
        "pytfpol/stats.py",
        "            if n > BOOTSTRAP_MAX_EPISODES:",
        "            if n > 10 * BOOTSTRAP_MAX_EPISODES:",
        (
            "tests/test_statistics.py::test_many_episodes_switch_to_normal_intervals_at_the_stated_size",
        ),
    ),
    Mutant(
        "iqm-se-not-winsorized",
        "the IQM's normal interval uses the winsorized (Yuen) standard error",
        "pytfpol/stats.py",
        "        winsorized = np.clip(ordered, ordered[cut], ordered[n - cut - 1])",
        "        winsorized = ordered",
        (
            "tests/test_statistics.py::test_many_episodes_switch_to_normal_intervals_at_the_stated_size",
        ),
    ),
    Mutant(
        "episodes-indented",
        "each episode of a report is one line of its JSON text",
        "pytfpol/results/json_text.py",
        "    return type(value) is dict and all(type(v) in _SCALARS for v in value.values())",
        "    return False",
        ("tests/test_scale.py::test_report_json_is_indented_json_with_one_line_per_episode",),
    ),
    Mutant(
        "wall-time-from-pytfpol-import",
        "timing.wall_seconds counts from process start, imports included",
        "pytfpol/results/report.py",
        '        with open("/proc/self/stat", "rb") as stat:',
        '        with open("/proc/self/stat-missing", "rb") as stat:',
        ("tests/test_scale.py::test_wall_seconds_is_the_whole_process_from_its_start",),
    ),
    Mutant(
        "diff-reads-whole-tensors",
        "inspect --diff reads numeric tensors in pieces, never whole",
        "pytfpol/formats/inspection.py",
        "    return (\n        a.dtype_enum == b.dtype_enum\n        and a.shape == b.shape",
        "    return False and (\n        a.dtype_enum == b.dtype_enum\n        and a.shape == b.shape",
        ("tests/test_inspect.py::test_diff_streams_numeric_tensors_with_the_whole_array_results",),
    ),
    Mutant(
        "diff-nan-not-above-inf",
        "inspect --diff ranks NaN above inf, as comparing whole arrays did",
        "pytfpol/formats/inspection.py",
        "    rank = np.where(np.isnan(delta), np.inf, delta)",
        "    rank = np.where(np.isnan(delta), 0.0, delta)",
        ("tests/test_inspect.py::test_diff_streams_numeric_tensors_with_the_whole_array_results",),
    ),
    Mutant(
        "diff-int64-overflows",
        "inspect --diff gives |a - b| of 64-bit integers exactly",
        "pytfpol/formats/inspection.py",
        "        delta = np.where(a64 >= b64, ua - ub, ub - ua)",
        "        delta = np.abs(a64 - b64)",
        ("tests/test_inspect.py::test_diff_streams_numeric_tensors_with_the_whole_array_results",),
    ),
    Mutant(
        "diff-second-checksum-unread",
        "a damaged tensor read in pieces is refused (its checksum checked after the last piece)",
        "pytfpol/formats/inspection.py",
        "    for rest in (pieces_a, pieces_b):",
        "    for rest in ():",
        ("tests/test_inspect.py::test_diff_of_a_damaged_piece_is_refused_naming_the_file",),
    ),
]


def run_mutant(mutant: Mutant, python: str, keep: bool) -> tuple[str, float, str]:
    """('killed' | 'SURVIVED' | 'NOT APPLIED', seconds, detail)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as tmp:
        copy = Path(tmp) / "repo"
        copy.mkdir()
        for name in COPIED:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, copy / name)
        target = copy / mutant.file
        text = target.read_text()
        if text.count(mutant.old) != 1:
            return "NOT APPLIED", 0.0, f"{mutant.file}: the code to mutate is not there once"
        target.write_text(text.replace(mutant.old, mutant.new))
        env = {**os.environ, "PYTHONPATH": str(copy), "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run(
            [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
        if keep:
            shutil.copytree(copy, REPO / "mutants-kept" / mutant.name, dirs_exist_ok=True)
    seconds = time.monotonic() - started
    last = (result.stdout.strip().splitlines() or [""])[-1]
    if result.returncode in (4, 5):  # usage error, or no tests collected: a broken mutant
        return "NOT APPLIED", seconds, f"pytest exit {result.returncode}: {last}"
    return ("killed" if result.returncode else "SURVIVED"), seconds, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--keep", action="store_true", help="keep each mutated copy")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    if args.list:
        for mutant in chosen:
            print(f"{mutant.name:45s} {mutant.promise}")
        return 0
    outcomes = []
    for mutant in chosen:
        outcome, seconds, detail = run_mutant(mutant, sys.executable, args.keep)
        outcomes.append(outcome)
        print(f"{outcome:11s} {seconds:6.1f} s  {mutant.name}: {detail}", flush=True)
    killed = outcomes.count("killed")
    print(f"{killed} of {len(outcomes)} mutants killed")
    return 0 if killed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
