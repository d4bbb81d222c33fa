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
REC = "tests/integration/test_recording.py::"
RAY = "tests/integration/test_ray.py::"
NOCODE = "tests/integration/test_no_code_from_data.py::"
NONFINITE = "tests/integration/test_nonfinite.py::"
PROMISES = "tests/integration/test_sweep_promises.py::"
INPUT = "tests/integration/test_input_files.py::"
OUT_SET = "tests/integration/test_output_set.py::"
ENVS = "tests/integration/test_environments.py::"
DOC = "tests/unit/test_documents.py::"
ACTION = "tests/integration/test_github_action.py::"
PROGRESS = "tests/integration/test_progress.py::"
REPLAY_SWEEP = "tests/integration/test_replay_sweep.py::"
MD = "tests/unit/test_markdown.py::"
SUMMARIES = "tests/integration/test_summaries.py::"
STEP_CHECKS = "tests/unit/test_step_checks.py::"
IQM = "tests/unit/test_iqm_without_scipy_stats.py::"
METRICS = "tests/integration/test_metrics.py::"
BUNDLE_W = "tests/integration/test_bundle_writer.py::"
DEFERRED = "tests/integration/test_deferred_modules.py::"
COPIED = (
    "pytfpol",
    "tests",
    "configs",
    "examples",
    "pyproject.toml",
    "action.yml",
    "ci",
    "requirements.lock",
    "README.md",
    "Makefile",
)


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
        "pytfpol/results/output_set.py",
        "        commit = out / (COMMIT_PREFIX + stage.name[len(PENDING_PREFIX) :])\n"
        "        os.rename(stage, commit)\n        fsync_dir(out)\n        apply_commit(out, commit)",
        "        apply_commit(out, stage)  # each output moved into place, no commit point",
        (
            "tests/integration/test_faults.py::test_kill_9_at_every_step_of_the_commit_leaves_the_old_set_or_the_new",
        ),
    ),
    Mutant(
        "damaged-index-treated-as-missing",
        "a damaged newest checkpoint is refused (exit 3) naming the file, with or without --step",
        "pytfpol/formats/layout_listing.py",
        '    if not _exists(prefix, ".index"):\n        return (f"{prefix}.index",)',
        '    if not os.path.isfile(f"{prefix}.index"):\n        return (f"{prefix}.index",)',
        ("tests/integration/test_faults.py::test_damaged_checkpoint_file",),
    ),
    Mutant(
        "evaluation-inside-the-policy-checkpoint",
        "OUT/checkpoint loads with PyTFPolicy.restore(dir) as TF-Agents calls it",
        "pytfpol/policy/loaded.py",
        "            self.session, self.checkpoint_objects, target, self.checkpoint_name",
        "            self.session, {**self.checkpoint_objects, checkpoints.EVALUATION: evaluation},\n"
        "            target, self.checkpoint_name",
        (
            "tests/integration/test_checkpointer.py::test_output_checkpoint_loads_with_pytfpolicy_restore",
        ),
    ),
    Mutant(
        "no-action-check",
        "an out-of-spec or NaN action stops the run with exit 4",
        "pytfpol/running/step_checks.py",
        "    if slots.action_bounds.all_within(action, active):\n        return\n",
        "    return\n",
        ("tests/integration/test_faults.py::test_out_of_spec_actions_stop_the_run",),
    ),
    Mutant(
        "no-recurrent-state-reset",
        "policy state is reset for exactly the slots that start an episode",
        "pytfpol/running/evaluation.py",
        "    if not tf.nest.flatten(state):\n        return state\n    starting = step_type",
        "    return state\n    starting = step_type",
        (
            "tests/integration/test_parallel.py::test_state_is_reset_for_each_episode_by_the_loop",
            "tests/integration/test_parallel.py::test_reset_state_replaces_exactly_the_starting_rows",
            "tests/integration/test_parallel.py::test_loop_resets_state_per_episode_in_every_group",
        ),
    ),
    Mutant(
        "loop-skips-state-reset",
        "policy state is reset for exactly the slots that start an episode, in every group",
        "pytfpol/running/evaluation.py",
        "        lane.state = _reset_state(lane.state, lane.initial_state, lane.step_type)\n",
        "",
        ("tests/integration/test_parallel.py::test_loop_resets_state_per_episode_in_every_group",),
    ),
    Mutant(
        "groups-share-one-scatter-row-order",
        "per-episode results do not depend on the number of pipelined groups",
        "pytfpol/running/evaluation.py",
        "            full[slots] = leaf[rows]\n",
        "            full[slots] = leaf[: len(slots)]\n",
        ("tests/integration/test_parallel.py::test_results_identical_for_any_group_count",),
    ),
    Mutant(
        "batch-call-shifts-episode-step",
        "--stochastic draws depend only on the episode's seed and step, whatever the call path",
        "pytfpol/policy/batch_call.py",
        "sampling.episode_key(seeds), steps.astype(np.int32)",
        "sampling.episode_key(seeds), (steps + 1).astype(np.int32)",
        ("tests/integration/test_determinism.py::test_batch_call_equals_py_tf_policy_action",),
    ),
    Mutant(
        "large-tensor-pieces-accepted-unseen",
        "non-finite weights are refused before TensorFlow reads them, also in tensors over 1 MiB",
        "pytfpol/formats/tensor_data.py",
        "        return accept is None or bool(accept(entry, piece.view(dtype)))\n",
        "        return True\n",
        ("tests/integration/test_faults.py::test_large_tensor_non_finite_values_counted_exactly",),
    ),
    Mutant(
        "stochastic-ignored",
        "--stochastic samples, seeded by --seed",
        "pytfpol/policy/networks.py",
        "    if stochastic:\n        return saved.wrapped_policy",
        "    if False:\n        return saved.wrapped_policy",
        ("tests/integration/test_checkpointer.py::test_stochastic_is_seeded",),
    ),
    Mutant(
        "failed-run-keeps-the-old-checkpoint",
        "a failed or interrupted run over a complete output keeps no stale policy checkpoint",
        "pytfpol/results/output_set.py",
        '    for name in manifest["unset"]:',
        '    for name in manifest["unset"][:0]:',
        (
            "tests/integration/test_faults.py::test_an_interrupted_run_over_a_complete_output_keeps_its_history",
            "tests/integration/test_faults.py::test_a_failed_run_over_another_policys_output_leaves_no_stale_checkpoint",
        ),
    ),
    Mutant(
        "step-ignored",
        "--step N evaluates the checkpoint at step N",
        "pytfpol/formats/layout_select.py",
        "    if step is not None:\n        return Selection(_at_step(layout, step))\n",
        "",
        (
            "tests/unit/test_sources.py::test_step_selects_the_learner_checkpoint_at_that_step",
            "tests/integration/test_newcomer.py::test_step_and_checkpoint_pick_what_eval_evaluates",
        ),
    ),
    Mutant(
        "checkpoint-option-ignored",
        "--checkpoint PATH evaluates that checkpoint",
        "pytfpol/formats/layout_select.py",
        "    if checkpoint is not None:\n        return Selection(_given_checkpoint(layout, Path(checkpoint)))\n",
        "",
        (
            "tests/unit/test_sources.py::test_checkpoint_option_takes_a_checkpointer_prefix",
            "tests/integration/test_newcomer.py::test_step_and_checkpoint_pick_what_eval_evaluates",
        ),
    ),
    Mutant(
        "inapplicable-options-ignored",
        "an option that means nothing for the input is refused (exit 2)",
        "pytfpol/running/plan.py",
        '    if source.format != FORMAT_CHECKPOINTER:\n        why = "its graph',
        '    if False:\n        why = "its graph',
        (
            "tests/integration/test_newcomer.py::test_options_that_mean_nothing_for_a_saved_model_are_refused",
        ),
    ),
    Mutant(
        "report-says-what-was-asked",
        "the report states whether actions were sampled, as they really were",
        "pytfpol/results/report.py",
        '            "stochastic": loaded.stochastic,',
        '            "stochastic": settings.stochastic,',
        ("tests/integration/test_newcomer.py::test_the_report_says_when_a_saved_policy_samples",),
    ),
    Mutant(
        "sampling-saved-model-unseeded",
        "a SavedModel that samples is sampled with a seed pytfpol controls",
        "pytfpol/policy/saved_model.py",
        "            dataclasses.replace(options, stochastic=sample),",
        "            options,",
        ("tests/integration/test_newcomer.py::test_the_report_says_when_a_saved_policy_samples",),
    ),
    Mutant(
        "sigterm-not-handled",
        "SIGTERM writes the completed episodes and exits 143",
        "pytfpol/running/interrupts.py",
        "    previous = signal.signal(signal.SIGTERM, _raise_terminated)",
        "    previous = signal.getsignal(signal.SIGTERM)",
        (
            "tests/integration/test_faults.py::test_ctrl_c_and_sigterm_stop_promptly_and_write_the_completed_episodes",
        ),
    ),
    Mutant(
        "signals-not-deferred-in-the-final-write",
        "Ctrl-C in the final write does not lose the report",
        "pytfpol/running/interrupts.py",
        "        if threading.current_thread() is not threading.main_thread() or self._previous:",
        "        if True:",
        (
            "tests/integration/test_faults.py::test_ctrl_c_in_the_final_write_does_not_lose_the_report",
        ),
    ),
    Mutant(
        "rerun-drops-the-history",
        "a re-run of the same policy into the same OUT appends to its history",
        "pytfpol/results/output_checkpoint.py",
        "    if claim.previous_report is None:\n        return None\n",
        "    return None\n",
        ("tests/integration/test_cli.py::test_a_rerun_into_the_same_out_appends_to_its_history",),
    ),
    Mutant(
        "foreign-out-overwritten",
        "--out holding files pytfpol did not write is refused (exit 5)",
        "pytfpol/results/output_set.py",
        "    if foreign and not overwrite:",
        "    if False:",
        (
            "tests/integration/test_cli.py::test_out_with_foreign_files_or_another_policys_results_is_refused",
        ),
    ),
    Mutant(
        "env-checked-after-tensorflow",
        "env mistakes are reported before TensorFlow is imported",
        "pytfpol/running/plan.py",
        "    made = preflight(spec)\n",
        "    import tensorflow  # noqa: F401\n\n    made = preflight(spec)\n",
        (
            "tests/integration/test_newcomer.py::test_env_mistakes_are_reported_before_tensorflow_is_imported",
        ),
    ),
    Mutant(
        "requested-env-id-recorded",
        "the report records the env id Gymnasium really made",
        "pytfpol/running/plan.py",
        "    env = dataclasses.replace(spec, env_id=made.made_id)",
        "    env = spec",
        (
            "tests/integration/test_newcomer.py::test_an_unversioned_env_id_records_the_id_made_and_warns_plainly",
        ),
    ),
    Mutant(
        "paths-not-resolved",
        "outputs record resolved paths: they evaluate again from any directory",
        "pytfpol/results/report.py",
        "    return None if path is None else os.path.abspath(path)",
        "    return path",
        (
            "tests/integration/test_cli.py::test_outputs_of_a_learner_root_evaluate_again_from_anywhere",
        ),
    ),
    Mutant(
        "incomplete-newest-used",
        "a newest checkpoint whose files are not all there is skipped, with a warning",
        "pytfpol/formats/layout_select.py",
        "    complete = [c for c in layout.checkpoints if c.complete]",
        "    complete = list(layout.checkpoints)",
        (
            "tests/unit/test_sources.py::test_newest_checkpoint_without_index_is_skipped_with_a_warning",
        ),
    ),
    Mutant(
        "worker-never-restores",
        "a unit's checkpoint is restored into the graph built for another (a sweep's graph is built once)",
        "pytfpol/running/worker.py",
        "        if unit.source != self.current:",
        "        if False:",
        (
            "tests/integration/test_units.py::test_restoring_b_into_a_graph_built_for_a_is_a_fresh_run_of_b",
        ),
    ),
    Mutant(
        "statistics-not-restored",
        "restoring a checkpoint sets its normalisation statistics",
        "pytfpol/policy/rebuilt.py",
        "    if normalizer is not None:\n        shape",
        "    if normalizer is not None and source.checkpoint_step == 4:\n        shape",
        (
            "tests/integration/test_units.py::test_the_normalisation_statistics_travel_with_the_checkpoint",
        ),
    ),
    Mutant(
        "tensorflow-reads-the-checkpoints",
        "an eval opens each input checkpoint file once (TensorFlow none)",
        "pytfpol/policy/saved_model.py",
        "            options=tf.saved_model.LoadOptions(experimental_skip_checkpoint=True),",
        "            options=tf.saved_model.LoadOptions(experimental_skip_checkpoint=False),",
        ("tests/integration/test_units.py::test_an_eval_opens_each_input_checkpoint_file_once",),
    ),
    Mutant(
        "merge-accepts-duplicates",
        "merged results refuse an episode run twice",
        "pytfpol/running/units.py",
        "            if key in merged:",
        "            if False:",
        ("tests/integration/test_units.py::test_merge_refuses_a_duplicate",),
    ),
    Mutant(
        "progress-only-per-episode",
        "the progress bar advances with every step",
        "pytfpol/running/evaluation.py",
        "        if self.on_step is not None:\n            self.on_step(active.size)\n",
        "",
        ("tests/integration/test_newcomer.py::test_progress_advances_with_every_step",),
    ),
    Mutant(
        "report-digest-misses-bytes",
        "the report's sha256 of each policy file is the file's (what replay re-checks)",
        "pytfpol/formats/tensor_data.py",
        "                self._digest.update(piece.data)\n",
        "                self._digest.update(piece[1:].data)\n",
        ("tests/integration/test_cli.py::test_eval_json_is_the_report_and_matches_the_files",),
    ),
    Mutant(
        "start-up-gc-walks-the-imports",
        "start-up: TensorFlow's imports are frozen out of the cyclic GC (pytfpol eval starts faster "
        "than TF-Agents' own import and load)",
        "pytfpol/policy/quiet_tf.py",
        "            gc.freeze()\n",
        "            pass\n",
        (
            "tests/integration/test_cli.py::test_heavy_imports_run_without_gc_then_freeze_and_restore_it",
        ),
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
        "pytfpol/commands/sweep/scheduler.py",
        "job.source, state.plan.env, 0, base.episodes, base.seed, state.options(), run.config",
        "job.source, state.plan.env, 0, base.episodes, base.seed + 1, state.options(), run.config",
        (
            "tests/integration/test_sweep.py::test_learner_sweep_equals_eval_of_each_step_and_confirms_on_fresh_seeds",
        ),
    ),
    Mutant(
        "best-confirmed-on-the-same-seeds",
        "the best checkpoint is re-evaluated on fresh seeds S+N ..",
        "pytfpol/commands/sweep/best.py",
        "state.plan.env, base.episodes, settings.confirm,",
        "state.plan.env, 0, settings.confirm,",
        (
            "tests/integration/test_sweep.py::test_learner_sweep_equals_eval_of_each_step_and_confirms_on_fresh_seeds",
        ),
    ),
    Mutant(
        "gates-judge-the-sweep-summary",
        "gates judge the best checkpoint's fresh-seed re-evaluation",
        "pytfpol/commands/sweep/documents.py",
        '    judged = (overall or {}).get("confirmation") or',
        "    judged = None or",
        (
            "tests/integration/test_sweep.py::test_two_runs_aggregate_per_step_and_gate_on_the_confirmed_best",
        ),
    ),
    Mutant(
        "journal-not-consulted",
        "a re-run into the same --out evaluates only what its journal lacks",
        "pytfpol/commands/sweep/scheduler.py",
        '    reused = state.journal.get(entry["key"])',
        "    reused = None",
        (
            "tests/integration/test_sweep.py::test_checkpointer_sweep_equals_eval_of_each_step_and_resumes_from_its_journal",
        ),
    ),
    Mutant(
        "journal-key-ignores-the-episodes",
        "a sweep with other settings reuses nothing from the journal",
        "pytfpol/commands/sweep/journal_key.py",
        '        "max_episode_steps": base.max_episode_steps,\n        "episodes": base.episodes,\n',
        '        "max_episode_steps": base.max_episode_steps,\n',  # result_settings (H4)
        (
            "tests/integration/test_sweep.py::test_checkpointer_sweep_equals_eval_of_each_step_and_resumes_from_its_journal",
        ),
    ),
    Mutant(
        "failed-checkpoint-stops-the-sweep",
        "a damaged checkpoint is an entry with its error, and the sweep goes on",
        "pytfpol/commands/sweep/scheduler.py",
        "        record_failure(state, entry, exc)\n",
        "        raise exc\n",
        (
            "tests/integration/test_sweep.py::test_damaged_checkpoint_in_the_middle_is_recorded_and_the_sweep_goes_on",
        ),
    ),
    Mutant(
        "half-written-checkpoint-taken",
        "--watch evaluates checkpoints training writes, not half-written ones",
        "pytfpol/running/sweep_plan.py",
        "        if not checkpoint.complete:",
        "        if False:",
        (
            "tests/integration/test_sweep.py::test_watch_evaluates_checkpoints_written_while_it_watches",
        ),
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
        "pytfpol/commands/replay.py",
        '        seed=record["seed"],\n        **recorded_env_settings(env),',
        '        seed=record["seed"] + 1,\n        **recorded_env_settings(env),',
        (REC + "test_replay_reproduces_an_episode_of_a_num_envs_8_run",),
    ),
    Mutant(
        "replay-mismatch-ignored",
        "a replay whose return or length differs is exit 4 naming both",
        "pytfpol/commands/replay.py",
        '        identical=all(replayed[f] == record[f] for f in ("return", "length")),',
        "        identical=True,",
        (REC + "test_replay_detects_a_non_deterministic_env",),
    ),
    Mutant(
        "replay-ignores-changed-files",
        "replay refuses (exit 3, naming it) a policy file changed since the evaluation",
        "pytfpol/commands/replay.py",
        "    provenance.check_unchanged(policy_files, f\"the evaluation in {report['output']['dir']}\")",
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
    Mutant(
        "out-users-file-replaced",
        "23.1: nothing in OUT is replaced or deleted unless the output set's manifest records it",
        "pytfpol/results/output_set.py",
        '    found = foreign(out, list(names), manifests, "")',
        "    found = []",
        (
            f"{OUT_SET}test_a_users_file_inside_out_is_never_deleted_or_replaced[eval-checkpoint/mine.txt-False-overwrite]",
            f"{OUT_SET}test_a_users_file_inside_out_is_never_deleted_or_replaced[eval-checkpoint/mine.txt-True-plain]",
            f"{OUT_SET}test_a_users_file_inside_out_is_never_deleted_or_replaced[sweep-videos/mine.txt-False-plain]",
        ),
    ),
    Mutant(
        "out-manifest-hash-unchecked",
        "23.1: a file is pytfpol's only with the size and sha256 its manifest records",
        "pytfpol/results/output_manifest.py",
        '    return bool(entries) and sha256(path) in {e["sha256"] for e in entries}',
        "    return bool(entries)",
        (f"{OUT_SET}test_a_file_pytfpol_wrote_but_the_user_changed_is_the_users",),
    ),
    Mutant(
        "out-names-not-validated",
        "23.2: a name read back from OUT outside the output set's vocabulary is never followed",
        "pytfpol/results/output_manifest.py",
        "    return (\n        len(parts) <= MAX_DEPTH\n",
        "    return True or (\n        len(parts) <= MAX_DEPTH\n",
        (
            f"{OUT_SET}test_a_forged_commit_manifest_is_never_followed_and_never_wedges_out[unknown]",
            f"{OUT_SET}test_a_damaged_set_manifest_is_not_followed",
        ),
    ),
    Mutant(
        "out-foreign-commit-applied",
        "23.2: a commit not of the set OUT holds (its manifest names another) is never applied",
        "pytfpol/results/output_set.py",
        '        if manifest is None or current not in (None, manifest["replaces"], manifest["files"]):',
        "        if manifest is None:",
        (
            f"{OUT_SET}test_a_forged_commit_manifest_is_never_followed_and_never_wedges_out[not-this-out]",
        ),
    ),
    Mutant(
        "out-lock-followed",
        "23.3: the lock file is opened with O_NOFOLLOW: a symlink there is exit 5, its target kept",
        "pytfpol/results/locking.py",
        "    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC",
        "    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC",
        (
            f"{OUT_SET}test_a_symlink_planted_in_out_is_never_written_through[eval-.pytfpol.lock-False-False]",
            f"{OUT_SET}test_a_symlink_planted_in_out_is_never_written_through[sweep-.pytfpol.lock-False-False]",
        ),
    ),
    Mutant(
        "out-journal-followed",
        "23.3: a sweep never writes its journal through a symlinked OUT/journal",
        "pytfpol/results/journal.py",
        "            info = os.lstat(self.directory)",
        "            info = os.stat(self.directory)",
        (
            f"{OUT_SET}test_a_symlink_planted_in_out_is_never_written_through[sweep-journal-True-False]",
        ),
    ),
    Mutant(
        "out-kinds-mixed",
        "23.4: an eval's OUT given to sweep (or a sweep's to eval) is refused without --overwrite",
        "pytfpol/results/output_set.py",
        "    if theirs is not None and theirs != kind and not overwrite:",
        "    if False:",
        (
            f"{OUT_SET}test_one_kind_of_result_per_out[eval-sweep]",
            f"{OUT_SET}test_one_kind_of_result_per_out[sweep-eval]",
        ),
    ),
    Mutant(
        "out-other-kind-left-behind",
        "23.4: with --overwrite, the other kind's set is replaced whole, nothing of it left",
        "pytfpol/results/output_manifest.py",
        "    names += [n for n in SET_VOCABULARY if n not in names]\n",
        "",
        (
            f"{OUT_SET}test_one_kind_of_result_per_out[eval-sweep]",
            f"{OUT_SET}test_one_kind_of_result_per_out[sweep-eval]",
        ),
    ),
    # --- issue 23: write failures and missing TensorFlow (points 8-9) ---
    # (this part's mutants go below)
    #
    Mutant(
        "tf-saver-failure-untranslated",
        "a write failure in TensorFlow's checkpoint saver is exit 5 naming OUT and the cause",
        "pytfpol/policy/checkpoints.py",
        "    except (OSError, tf.errors.OpError) as exc:  # TensorFlow's saver: OutOfRange for EFBIG",
        "    except OSError as exc:",
        (
            "tests/integration/test_write_failures.py::test_a_write_failure_in_eval_is_exit_5_and_leaves_the_previous_set",
            "tests/integration/test_write_failures.py::test_a_write_failure_in_a_sweep_is_exit_5_and_leaves_the_previous_set",
        ),
    ),
    Mutant(
        "write-failure-cause-is-tf-graph-stack",
        "the cause of a failed write is the OS's words, not TensorFlow's graph stack",
        "pytfpol/errors.py",
        '        if "; " in line and not line.startswith(("File ", "[[")):',
        "        if False:",
        (
            "tests/integration/test_write_failures.py::test_a_write_failure_in_eval_is_exit_5_and_leaves_the_previous_set",
        ),
    ),
    Mutant(
        "staged-write-failure-names-the-pending-dir",
        "a failed write names OUT and the output, and says the previous outputs are unchanged",
        "pytfpol/commands/evaluate.py",
        "        raise write_failures.in_out(exc, out, stage) from exc.__cause__",
        "        raise",
        (
            "tests/integration/test_write_failures.py::test_a_write_failure_in_eval_is_exit_5_and_leaves_the_previous_set",
        ),
    ),
    Mutant(
        "sweep-staged-write-failure-names-the-pending-dir",
        "a sweep's failed write names OUT and the output, and says the previous set is unchanged",
        "pytfpol/commands/sweep/__init__.py",
        "        raise write_failures.in_out(exc, state.out, stage) from exc.__cause__",
        "        raise",
        (
            "tests/integration/test_write_failures.py::"
            "test_a_write_failure_in_a_sweep_is_exit_5_and_leaves_the_previous_set",
        ),
    ),
    Mutant(
        "video-write-failure-commits-an-incomplete-set",
        "a video that cannot be written while the episodes run commits nothing (exit 5)",
        "pytfpol/commands/evaluate.py",
        "            if isinstance(ran.error, OutputError):  # a video or trajectory: nothing is committed\n"
        "                raise ran.error\n",
        "",
        (
            "tests/integration/test_write_failures.py::test_a_video_that_cannot_be_written_is_exit_5_and_commits_nothing",
        ),
    ),
    Mutant(
        "truncated-mp4-accepted",
        "an MP4 that ffmpeg left truncated (disk full, file-size limit) is a write failure",
        "pytfpol/running/video.py",
        '    if video_format == "mp4" and not mp4_is_complete(path):',
        "    if False:",
        (
            "tests/integration/test_write_failures.py::test_a_video_that_cannot_be_written_is_exit_5_and_commits_nothing",
        ),
    ),
    Mutant(
        "tensorboard-failure-untranslated",
        "TensorBoard events that cannot be written are an OutputError naming the directory",
        "pytfpol/results/sweep_report.py",
        '        except OSError as exc:\n            raise OutputError(\n                f"{logdir}: could not write the TensorBoard',
        '        except ValueError as exc:\n            raise OutputError(\n                f"{logdir}: could not write the TensorBoard',
        (
            "tests/integration/test_write_failures.py::test_tensorboard_events_that_cannot_be_written_are_an_output_error",
        ),
    ),
    Mutant(
        "sweep-free-space-unchecked",
        "a sweep refuses (exit 5) before it reads anything when OUT lacks room for what it writes",
        "pytfpol/commands/sweep/__init__.py",
        "                files.check_free_space(out, _needed_bytes(plan))\n",
        "",
        (
            "tests/integration/test_write_failures.py::"
            "test_a_sweep_without_room_for_what_it_will_write_is_refused_before_it_reads_anything",
        ),
    ),
    Mutant(
        "free-space-estimate-ignores-episodes",
        "the free-space estimate covers every episode a sweep writes",
        "pytfpol/results/write_failures.py",
        "        + episodes * documents * EPISODE_BYTES",
        "        + 0 * documents * EPISODE_BYTES",
        (
            "tests/integration/test_write_failures.py::test_the_sweep_estimate_covers_what_it_writes",
        ),
    ),
    Mutant(
        "tensorflow-missing-untranslated",
        "without TensorFlow, eval/sweep/compare --env/replay say which extra to install (exit 2)",
        "pytfpol/policy/quiet_tf.py",
        '    if isinstance(exc, ModuleNotFoundError) and exc.name == "tensorflow":',
        "    if False:",
        (
            "tests/integration/test_write_failures.py::test_without_tensorflow_a_command_that_needs_it_names_the_extra",
        ),
    ),
    # --- issue 23: no code from data (point 5) ---
    # (this part's mutants go below)
    #
    Mutant(
        "found-config-factory-imported",
        "a factory named by a pytfpol-policy.toml found in an input directory is not imported "
        "without --allow-code or --config (exit 2 naming the file and the key)",
        "pytfpol/running/plan.py",
        '        named_by = in_file(bundled, "factory", f"give it as --config {bundled}")',
        "        named_by = on_command_line(bundled)",
        (NOCODE + "test_a_factory_in_a_config_found_in_the_input_is_not_imported",),
    ),
    Mutant(
        "sweep-checks-found-config-late",
        "a sweep (and a resumed sweep) refuses a found config's factory before OUT is touched",
        "pytfpol/running/sweep_plan.py",
        "        if first.rebuilt:  # a factory its config names is refused now, before OUT is touched\n"
        "            given_config(settings.eval, first)",
        "        pass",
        (NOCODE + "test_a_sweep_and_its_resumption_import_no_factory_a_found_config_names",),
    ),
    Mutant(
        "compare-allows-code",
        "compare --env imports no factory a found config names without --allow-code",
        "pytfpol/commands/compare.py",
        "        vector=settings.vector,\n        allow_code=settings.allow_code,",
        "        vector=settings.vector,\n        allow_code=True,",
        (NOCODE + "test_compare_evaluates_no_policy_whose_found_config_names_a_factory",),
    ),
    Mutant(
        "replay-trusts-recorded-env-id",
        "replay imports no module:ID module stats.json recorded, unless --allow-code or --env",
        "pytfpol/commands/replay.py",
        "        env_named_in=None if env_id is not None else stats,",
        "        env_named_in=None,",
        (NOCODE + "test_replay_imports_no_module_a_recorded_env_id_names",),
    ),
    Mutant(
        "replay-trusts-recorded-config",
        "replay imports no factory of the config stats.json recorded, unless --allow-code",
        "pytfpol/commands/replay.py",
        "        config_named_in=stats,",
        "        config_named_in=None,",
        (NOCODE + "test_replay_imports_no_factory_the_recorded_config_names",),
    ),
    Mutant(
        "env-id-unchecked",
        "the module of a module:ID env id a file names is checked before Gymnasium sees the id",
        "pytfpol/running/plan.py",
        "    check_env_import(settings)\n    spec = env_spec_for(settings)",
        "    spec = env_spec_for(settings)",
        (NOCODE + "test_replay_imports_no_module_a_recorded_env_id_names",),
    ),
    Mutant(
        "allow-code-ignored",
        "--allow-code (and only it, besides the command line) imports what a file names",
        "pytfpol/code_from_data.py",
        "    return module_of(reference) is None or named_by.command_line or allow_code",
        "    return module_of(reference) is None or named_by.command_line",
        (
            NOCODE + "test_a_factory_in_a_found_config_is_imported_when_the_command_line_asks",
            NOCODE + "test_replay_imports_a_recorded_env_module_when_the_command_line_asks",
        ),
    ),
    # --- issue 23: FIFOs, devices, size limits (points 6-7) ---
    # (this part's mutants go below)
    #
    Mutant(
        "input-file-type-unchecked",
        "an input file that is a FIFO or a device is refused (exit 3) naming it, never read",
        "pytfpol/formats/input_files.py",
        "    if stat.S_ISREG(info.st_mode):\n        return\n",
        "    return  # whatever it is\n",
        (
            INPUT + "test_replay_refuses_a_file_that_is_not_regular[fingerprint.pb-fifo]",
            INPUT + "test_compare_refuses_a_stats_json_that_is_not_regular[candidate-dev-zero]",
        ),
    ),
    Mutant(
        "input-file-fstat-not-rechecked",
        "the file read is checked by fstat of its descriptor, not by a stat of its path before",
        "pytfpol/formats/input_files.py",
        "        info = os.fstat(fd)\n        check_mode(path, info, hint)\n",
        "        info = os.fstat(fd)\n",
        (INPUT + "test_a_file_swapped_for_a_fifo_after_its_stat_is_refused_by_fstat",),
    ),
    Mutant(
        "saved-model-file-type-unchecked",
        "a SavedModel file TensorFlow opens itself is checked regular before TensorFlow runs",
        "pytfpol/formats/validation.py",
        "            input_files.check_mode(path, info, hint)\n",
        "",
        (INPUT + "test_eval_refuses_a_saved_model_file_that_is_not_regular[fingerprint.pb-fifo]",),
    ),
    Mutant(
        "input-file-size-unchecked",
        "a file larger than its format allows is refused (exit 3) before it is read",
        "pytfpol/formats/input_files.py",
        "    if limit is not None and size > limit:",
        "    if False:",
        (
            INPUT + "test_a_10_gb_sparse_saved_model_pb_is_refused_before_it_is_read",
            INPUT + "test_a_10_gb_sparse_stats_json_is_refused_before_it_is_read[compare]",
        ),
    ),
    Mutant(
        "data-shard-not-limited-by-its-index",
        "a data shard larger than what its index says it holds is refused (exit 3)",
        "pytfpol/formats/checkpoint_reader.py",
        "        return self._held.get(shard, 0)",
        "        return None",
        (INPUT + "test_a_data_shard_larger_than_its_index_says_is_refused[1]",),
    ),
    Mutant(
        "replay-hashes-a-file-of-another-size",
        "replay refuses a policy file whose size differs from the recorded one without hashing it",
        "pytfpol/formats/provenance.py",
        '            recorded = entry.get("bytes", size)',
        "            recorded = size",
        (INPUT + "test_replay_refuses_a_policy_file_of_another_size_without_reading_it",),
    ),
    Mutant(
        "state-file-type-unchecked",
        "a checkpoint state file that is a FIFO or a device is exit 3 naming it, never opened",
        "pytfpol/formats/layout.py",
        "    _check_state_file(directory / STATE_FILE)\n",
        "",
        (INPUT + "test_a_state_file_that_is_a_fifo_is_refused_not_waited_for",),
    ),
    # --- issue 23: non-finite rewards and the untested promises (point 10 and the classes) ---
    # (this part's mutants go below)
    Mutant(
        "nonfinite-reward-unchecked",
        "a NaN/inf reward stops the run with exit 4 naming the episode and step (one env)",
        "pytfpol/running/evaluation.py",
        "        check_rewards(lane, active, reward, self.seed)\n",
        "",
        (NONFINITE + "test_a_non_finite_reward_in_any_row_is_exit_4",),
    ),
    Mutant(
        "nonfinite-reward-first-row-only",
        "a NaN/inf reward in any row of a vectorised run stops it (not only row 0)",
        "pytfpol/running/step_checks.py",
        "    if all_finite(reward):",
        "    if np.isfinite(reward[0]):",
        (
            NONFINITE + "test_a_non_finite_reward_in_any_row_is_exit_4[8-nan_reward-nan]",
            NONFINITE + "test_a_non_finite_reward_is_exit_4_in_async_and_pipelined_runs",
            NONFINITE + "test_a_non_finite_reward_of_a_native_vector_env_is_exit_4",
        ),
    ),
    Mutant(
        "return-overflow-unchecked",
        "finite rewards whose return overflows to inf stop the run with exit 4",
        "pytfpol/running/evaluation.py",
        "        check_return(lane, row, self.seed)\n",
        "",
        (NONFINITE + "test_finite_rewards_that_overflow_the_return_are_exit_4",),
    ),
    Mutant(
        "nonfinite-return-trimmed",
        "one non-finite return leaves every return statistic null (never trimmed away)",
        "pytfpol/stats.py",
        "    if n and np.isfinite(r).all():",
        "    if n:",
        (NONFINITE + "test_a_non_finite_return_leaves_every_return_statistic_null",),
    ),
    Mutant(
        "gate-passes-on-inf",
        "a gate on a non-finite value fails",
        "pytfpol/gates.py",
        "        if value is None or not math.isfinite(value):",
        "        if value is None:",
        (NONFINITE + "test_a_gate_on_a_non_finite_value_fails",),
    ),
    Mutant(
        "select-ignored",
        "sweep --select STAT picks the best checkpoint by STAT",
        "pytfpol/commands/sweep/best.py",
        "        best = sweep_report.best_entry(entries, settings.select)",
        '        best = sweep_report.best_entry(entries, "mean_return")',
        (PROMISES + "test_select_picks_the_best_checkpoint_by_its_statistic",),
    ),
    Mutant(
        "tie-picks-the-latest-step",
        "equal scores pick the earliest step",
        "pytfpol/results/sweep_report.py",
        '    return max(scored, key=lambda e: (e["summary"][statistic], -(e["step"] or 0)))',
        '    return max(scored, key=lambda e: (e["summary"][statistic], e["step"] or 0))',
        (PROMISES + "test_equal_scores_pick_the_earliest_step",),
    ),
    Mutant(
        "gate-ge-is-strict",
        "a `>=` gate passes at exact equality",
        "pytfpol/gates.py",
        '">=": operator.ge,',
        '">=": operator.gt,',
        ("tests/integration/test_gates.py::test_a_gate_at_exact_equality",),
    ),
    Mutant(
        "gate-gt-is-not-strict",
        "a `>` gate fails at exact equality",
        "pytfpol/gates.py",
        '">": operator.gt,',
        '">": operator.ge,',
        ("tests/integration/test_gates.py::test_a_gate_at_exact_equality",),
    ),
    Mutant(
        "journal-key-without-seed",
        "the sweep journal key depends on the seed",
        "pytfpol/commands/sweep/journal_key.py",
        '        "seed": base.seed,\n        "stochastic": base.stochastic,',
        '        "stochastic": base.stochastic,',  # in result_settings since H4
        (PROMISES + "test_the_journal_key_changes_with_everything_the_result_depends_on",),
    ),
    Mutant(
        "journal-key-without-env-kwargs",
        "the sweep journal key depends on the env's kwargs",
        "pytfpol/commands/sweep/journal_key.py",
        # the kwargs are in the key twice, as given and in the env's spec: both go
        '            "env_spec": recorded_env,  # wrappers and all: another env re-runs\n'
        "            **result_settings(base),",
        '            "env_spec": None,\n'
        '            **{k: v for k, v in result_settings(base).items() if k != "kwargs"},',
        (PROMISES + "test_the_journal_key_changes_with_everything_the_result_depends_on",),
    ),
    Mutant(
        "journal-key-without-the-checkpoint",
        "the sweep journal key depends on the checkpoint's bytes",
        "pytfpol/commands/sweep/journal_key.py",
        "        [bundle.digest for bundle in checked.bundles.values()],",
        "            [],",
        (PROMISES + "test_the_journal_key_changes_with_everything_the_result_depends_on",),
    ),
    Mutant(
        "journal-key-with-num-envs",
        "the sweep journal key ignores how the episodes run (--num-envs, --vector, ...)",
        "pytfpol/commands/sweep/journal_key.py",
        '        "seed": base.seed,\n        "stochastic": base.stochastic,',
        '        "seed": base.seed,\n        "stochastic": base.stochastic,\n'
        '        "num_envs": base.num_envs_used,',  # in result_settings since H4
        (PROMISES + "test_the_journal_key_ignores_what_the_result_does_not_depend_on",),
    ),
    Mutant(
        "replay-ignores-checkpoint-data",
        "replay refuses when a Checkpointer's or Learner checkpoint's .data-* changed (exit 3)",
        "pytfpol/formats/provenance.py",
        '            files.update(glob.glob(f"{glob.escape(prefix)}.data-*"))',
        "            pass",
        (REC + "test_replay_refuses_a_changed_policy_file",),
    ),
    Mutant(
        "replay-ignores-checkpoint-index",
        "replay refuses when a Checkpointer's or Learner checkpoint's .index changed (exit 3)",
        "pytfpol/formats/provenance.py",
        '            files.add(f"{prefix}.index")',
        "            pass",
        (REC + "test_replay_refuses_a_changed_policy_file",),
    ),
    #
    # --- issue 24 environments ---
    # (this part's mutants go below)
    #
    Mutant(
        "atari-preset-noop-starts",
        "the tf-agents-atari preset is TF-Agents' suite_atari: no noop starts",
        "pytfpol/running/wrappers.py",
        '                "noop_max": 0,',
        '                "noop_max": 30,',
        (ENVS + "test_tf_agents_atari_preset_is_suite_atari_with_frame_stack",),
    ),
    Mutant(
        "atari-preset-channels-first",
        "the tf-agents-atari preset stacks frames channels last, (84, 84, 4) uint8",
        "pytfpol/running/wrappers.py",
        '        Wrapper("ChannelsLast", f"{OWN_WRAPPERS_MODULE}:ChannelsLast", {}),\n',
        "",
        (ENVS + "test_tf_agents_atari_preset_is_suite_atari_with_frame_stack",),
    ),
    Mutant(
        "atari-preset-limit-in-frames",
        "the preset's step limit counts agent steps, outside the frame skip (AtariTimeLimit)",
        "pytfpol/running/env_spec.py",
        "    return EnvSpec(env_id, dict(kwargs), None, registered=base, wrappers=chain)",
        "    chain, _ = resolve_wrappers(tuple(wrappers), None)\n"
        "    return EnvSpec(env_id, dict(kwargs), limit, registered=base, wrappers=chain)",
        (ENVS + "test_tf_agents_atari_preset_is_suite_atari_with_frame_stack",),
    ),
    Mutant(
        "time-limit-recorded-as-max-episode-steps",
        "--wrapper TimeLimit is recorded where it stands, not as the env's max_episode_steps",
        "pytfpol/running/wrappers.py",
        "    spec = gym.Wrapper.spec  # type: ignore[assignment]\n",
        "",
        (ENVS + "test_wrappers_by_name_apply_in_order_and_are_recorded",),
    ),
    Mutant(
        "env-spec-not-recorded",
        "the report records the whole env (EnvSpec JSON) and --env FILE.json rebuilds it",
        "pytfpol/results/report.py",
        '        "spec": recorded_env,',
        '        "spec": None,',
        (
            ENVS + "test_env_spec_json_rebuilds_the_recorded_env",
            ENVS + "test_wrappers_by_name_apply_in_order_and_are_recorded",
        ),
    ),
    Mutant(
        "sweep-journal-ignores-env-spec",
        "a resumed sweep with another env (other wrappers) evaluates again",
        "pytfpol/commands/sweep/journal_key.py",
        '            "env_spec": recorded_env,  # wrappers and all: another env re-runs',
        '            "env_spec": None,',
        (ENVS + "test_a_resumed_sweep_with_other_wrappers_evaluates_again",),
    ),
    Mutant(
        "compare-ignores-env-spec",
        "compare refuses two reports whose env specs differ, not only their ids",
        "pytfpol/commands/compare.py",
        "    _check_same_env_spec(baseline, candidate)\n",
        "",
        (ENVS + "test_compare_refuses_runs_whose_env_specs_differ",),
    ),
    Mutant(
        "env-spec-file-imports-code",
        "an env spec file's entry points never import a module pytfpol does not trust",
        "pytfpol/running/wrappers.py",
        "    for entry_point in code_named_by_file(spec, registered_entry_point):",
        "    for entry_point in ():",
        (ENVS + "test_env_spec_file_naming_other_code_is_refused_without_importing_it",),
    ),
    Mutant(
        "no-atari-preset-hint",
        "an (84, 84, 4) uint8 policy on raw frames is refused with the preset's hint",
        "pytfpol/running/envs.py",
        '            _atari_hint(policy_specs["observation"])\n            or ',
        "            ",
        (ENVS + "test_an_atari_policy_on_raw_frames_is_refused_with_the_preset_hint",),
    ),
    Mutant(
        "identical-episodes-not-said",
        "a run whose episodes are all the same says so and gives no interval",
        "pytfpol/results/report.py",
        "    return len(prints) > 1 and None not in prints and len(set(prints)) == 1",
        "    return False",
        (
            ENVS
            + "test_atari_policy_runs_on_breakout_with_the_preset_and_says_episodes_are_identical",
        ),
    ),
    Mutant(
        "identical-by-outcome-only",
        "episodes of equal returns and lengths from other starts are not called identical",
        "pytfpol/running/evaluation.py",
        "    return zlib.crc32(outcome, lane.observation_crc(row, int(lane.first_crc[row])))",
        "    return zlib.crc32(outcome)",
        (ENVS + "test_different_episodes_of_equal_returns_are_not_called_identical",),
    ),
    Mutant(
        "py-environment-not-seeded",
        "a PyEnvironment factory's episode i is seeded with S+i",
        "pytfpol/running/py_environments.py",
        "        if seed is not None:\n            self.seed_episode(seed)\n",
        "",
        (ENVS + "test_pyenvironment_factory_is_seeded_per_episode",),
    ),
    Mutant(
        "unseedable-py-environment-accepted",
        "a PyEnvironment that cannot be seeded is refused before any episode (exit 3)",
        "pytfpol/running/py_environments.py",
        "        self.seed_episode(0)  # refused here, before any episode, when it cannot be seeded\n",
        "",
        (ENVS + "test_pyenvironment_that_cannot_be_used_is_refused_before_any_episode",),
    ),
    Mutant(
        "env-spec-file-allow-code-ignored",
        "--allow-code lets an env spec file's entry points be imported (the opt-in works)",
        "pytfpol/running/env_spec.py",
        "        refuse_code_from_data(source, gym_spec, registered, allow_code)",
        "        refuse_code_from_data(source, gym_spec, registered, False)",
        (
            "tests/integration/test_environments.py::test_env_spec_file_naming_other_code_is_refused_without_importing_it",
        ),
    ),
    # --- issue 25: the sweep package (W3) ---
    Mutant(
        "journal-key-holds-the-pb-stat",
        "the sweep journal key holds saved_model.pb's content (sha256), not its size and time stamp",
        "pytfpol/commands/sweep/journal_key.py",
        "        digest = validation.sha256_of_regular_file(pb)\n",
        '        digest = f"{pb.stat().st_size} {pb.stat().st_mtime_ns}"\n',
        (PROMISES + "test_the_journal_key_changes_with_the_savedmodel",),
    ),
    Mutant(
        "saved-model-pb-hashed-per-checkpoint",
        "the key's sha256 of saved_model.pb is computed once per SavedModel per sweep",
        "pytfpol/commands/sweep/journal_key.py",
        "        graph_digests[directory] = digest\n",
        "",
        (PROMISES + "test_saved_model_pb_is_hashed_once_per_savedmodel_per_sweep",),
    ),
    #
    # --- issue 24 networks ---
    # (this part's mutants go below)
    Mutant(
        "ppo-activation-back-to-relu",
        "a PPO feed-forward actor with no evidence is assumed tanh, as TF-Agents' PPO examples train it",
        "pytfpol/policy/inference.py",
        '        activation = "tanh" if _is_ppo_feed_forward(config) else "relu"',
        '        activation = "relu"',
        (
            "tests/integration/test_networks.py::test_ppo_without_a_saved_model_assumes_the_examples_tanh",
        ),
    ),
    Mutant(
        "activation-evidence-ignored",
        "the activation is read from a SavedModel of the same run beside the Checkpointer dir",
        "pytfpol/policy/inference.py",
        "    activation = found.activation if found is not None else None",
        "    activation = None",
        ("tests/integration/test_networks.py::test_inferred_network_gives_tf_agents_returns",),
    ),
    Mutant(
        "evidence-of-another-network-used",
        "a SavedModel whose variables have other shapes is no evidence",
        "pytfpol/policy/evidence.py",
        "            if _shape_counts(shapes) != wanted:\n                continue",
        "            pass",
        (
            "tests/integration/test_networks.py::test_a_saved_model_of_another_network_is_no_evidence",
        ),
    ),
    Mutant(
        "stride-choice-picks-the-first-candidate",
        "conv strides: refused (exit 2, a config line each) when several fit and no evidence says",
        "pytfpol/policy/completion.py",
        "        elif len(candidates) == 1:\n",
        "        elif candidates:\n",
        (
            "tests/integration/test_networks.py::test_uint8_conv_without_evidence_is_refused_naming_each_config_line",
        ),
    ),
    Mutant(
        "stride-evidence-ignored",
        "conv strides are read from the SavedModel's Conv2D ops when several fit the shapes",
        "pytfpol/policy/completion.py",
        '        if table == "network" and tuple(found) in candidates:',
        "        if False:",
        ("tests/integration/test_networks.py::test_inferred_network_gives_tf_agents_returns",),
    ),
    Mutant(
        "stride-arithmetic-off-by-one",
        "conv strides are the ones whose valid-padding outputs fit the next layer's input size",
        "pytfpol/policy/completion.py",
        "            height = (height - kernel) // stride + 1 if height >= kernel else 0",
        "            height = (height - kernel) // stride if height >= kernel else 0",
        (
            "tests/integration/test_networks.py::test_stride_candidates",
            "tests/integration/test_networks.py::test_inferred_network_gives_tf_agents_returns",
        ),
    ),
    Mutant(
        "sequential-scaling-layer-dropped",
        "mnih15's Sequential network: its weightless first layer (x / 255) is rebuilt, decided",
        "pytfpol/policy/inference.py",
        '        pixel_scaling=None if first else "none",',
        '        pixel_scaling="none",',
        (
            "tests/integration/test_networks.py::test_inferred_network_gives_tf_agents_returns[atari_sequential-read]",
        ),
    ),
    Mutant(
        "divide-by-255-assumed",
        "a uint8 image's scaling (cast, or cast and /255) is read from evidence or refused",
        "pytfpol/policy/completion.py",
        "        found = config.evidence.pixel_scaling if config.evidence is not None else None",
        '        found = "divide_by_255"',
        (
            "tests/integration/test_networks.py::test_uint8_conv_without_evidence_is_refused_naming_each_config_line",
        ),
    ),
    Mutant(
        "pixel-scaling-not-applied",
        "pixel_scaling = divide_by_255 rebuilds the /255 preprocessing layer",
        "pytfpol/policy/networks.py",
        "    return tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32) / 255.0)",
        "    return tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32))",
        (
            "tests/integration/test_networks.py::test_uint8_conv_without_evidence_is_refused_naming_each_config_line",
        ),
    ),
    Mutant(
        "mask-splitter-drops-the-mask",
        "a masked DQN gets its splitter: masked actions are never chosen",
        "pytfpol/policy/networks.py",
        "        return observation[keys[0]], observation[keys[1]]",
        "        return observation[keys[0]], tf.ones_like(observation[keys[1]])",
        ("tests/integration/test_networks.py::test_masked_dqn_never_chooses_a_masked_action",),
    ),
    Mutant(
        "dqn-v2-rnn-output-layers-misread",
        "DQN v2's recurrent network is read off the variables, sizes and all",
        "pytfpol/policy/inference.py",
        "        output_fc_layer_params=tuple(widths[i] for i in layers if i > unroll)[:-1],",
        "        output_fc_layer_params=tuple(widths[i] for i in layers if i > unroll),",
        ("tests/integration/test_networks.py::test_dqn_v2_rnn_shipped_config_and_inference_agree",),
    ),
    Mutant(
        "rebuild-errors-are-internal",
        "TF-Agents' errors while a policy is rebuilt are exit 3 naming what did not fit",
        "pytfpol/policy/rebuilt.py",
        "    except Exception as exc:  # noqa: BLE001 - TF-Agents and Keras raise many types",
        "    except ZeroDivisionError as exc:",
        (
            "tests/integration/test_networks.py::test_tf_agents_errors_while_rebuilding_are_input_errors",
        ),
    ),
    Mutant(
        "rebuilt-policy-errors-blamed-on-a-saved-model",
        "errors building a rebuilt policy's action function name the network, not a SavedModel",
        "pytfpol/policy/rebuilt.py",
        "            py_policy = as_py_policy(policy, options, session, prefix, saved_model=False)",
        "            py_policy = as_py_policy(policy, options, session, prefix)",
        (
            "tests/integration/test_networks.py::test_errors_building_the_action_function_name_the_rebuilt_network",
        ),
    ),
    Mutant(
        "hint-blames-a-config-never-given",
        "hints tell the truth: no 'fix the config' for an inferred network",
        "pytfpol/policy/rebuilt.py",
        "    if config.inferred:\n        return (",
        "    if False:\n        return (",
        (
            "tests/integration/test_networks.py::test_hint_for_an_inferred_network_does_not_mention_a_config_never_given",
        ),
    ),
    #
    # --- issue 26 speed at scale ---
    Mutant(
        "sweep-detects-per-checkpoint",
        "a sweep lists a run's directory once per pass, not once per checkpoint",
        "pytfpol/running/sweep_plan.py",
        "    return source_from_layout(run.found, settings.eval.policy, step=checkpoint.step)",
        "    from pytfpol.formats.sources import resolve_policy_source\n\n"
        "    return resolve_policy_source(run.path, settings.eval.policy, step=checkpoint.step)",
        ("tests/unit/test_sources.py::test_a_run_of_many_checkpoints_is_listed_once",),
    ),
    Mutant(
        "detect-lists-per-question",
        "detecting a layout lists each directory once",
        "pytfpol/formats/layout_listing.py",
        "    if listings is not None and key in listings:",
        "    if False:",
        ("tests/unit/test_sources.py::test_a_run_of_many_checkpoints_is_listed_once",),
    ),
    Mutant(
        "checkpointer-dir-listed-per-checkpoint",
        "listing a Checkpointer directory of N checkpoints is one listdir",
        "pytfpol/formats/layout_listing.py",
        "        missing = _missing_from(name in indexed, name in with_data)",
        "        missing = [m[len(prefix) :] for m in _missing_bundle(Path(prefix))]",
        ("tests/unit/test_sources.py::test_listing_a_checkpointer_dir_on_its_own_lists_it_once",),
    ),
    Mutant(
        "listed-index-must-be-a-file",
        "an .index of any file type counts (validation judges it), from one listing too",
        "pytfpol/formats/layout_listing.py",
        "        index = CKPT_INDEX_RE.match(name)\n",
        "        index = CKPT_INDEX_RE.match(name)\n"
        "        index = index if os.path.isfile(os.path.join(directory, name)) else None\n",
        (
            "tests/unit/test_sources.py::test_an_index_of_any_file_type_counts_and_is_left_to_validation",
        ),
    ),
    Mutant(
        "jackknife-iqm-wrong-window",
        "the closed-form jackknife of the IQM equals leaving each episode out (scipy's BCa)",
        "pytfpol/stats.py",
        "        window(cut + 1, n - cut),",
        "        window(cut, n - cut - 1),",
        (
            "tests/unit/test_statistics.py::test_closed_form_jackknife_equals_leaving_each_episode_out",
        ),
    ),
    Mutant(
        "bca-without-bias-correction",
        "BCa intervals equal scipy.stats.bootstrap's with the same random state",
        "pytfpol/stats.py",
        "        z0 = ndtri((below + at_or_below) / (2 * distribution.shape[-1]))",
        "        z0 = 0.0",
        (
            "tests/unit/test_statistics.py::test_bca_interval_equals_scipys_with_the_same_random_state",
        ),
    ),
    Mutant(
        "unpaired-difference-jackknifed-as-paired",
        "BCa intervals of differences equal scipy's, paired and unpaired",
        "pytfpol/stats.py",
        "        if paired:\n            return [leave_one_out(cand) - leave_one_out(base)]",
        "        if True:\n            return [leave_one_out(cand) - leave_one_out(base)]",
        (
            "tests/unit/test_statistics.py::test_bca_interval_equals_scipys_with_the_same_random_state",
        ),
    ),
    Mutant(
        "no-switch-above-the-stated-size",
        "above 5,000 episodes the intervals are normal-approximation intervals, as documented",
        "pytfpol/stats.py",
        "            if n > BOOTSTRAP_MAX_EPISODES:",
        "            if n > 10 * BOOTSTRAP_MAX_EPISODES:",
        (
            "tests/unit/test_statistics.py::test_many_episodes_switch_to_normal_intervals_at_the_stated_size",
        ),
    ),
    Mutant(
        "iqm-se-not-winsorized",
        "the IQM's normal interval uses the winsorized (Yuen) standard error",
        "pytfpol/stats.py",
        "        winsorized = np.clip(ordered, ordered[cut], ordered[n - cut - 1])",
        "        winsorized = ordered",
        (
            "tests/unit/test_statistics.py::test_many_episodes_switch_to_normal_intervals_at_the_stated_size",
        ),
    ),
    Mutant(
        "episodes-indented",
        "each episode of a report is one line of its JSON text",
        "pytfpol/results/json_text.py",
        "    return type(value) is dict and all(type(v) in _SCALARS for v in value.values())",
        "    return False",
        ("tests/unit/test_scale.py::test_report_json_is_indented_json_with_one_line_per_episode",),
    ),
    Mutant(
        "wall-time-from-pytfpol-import",
        "timing.wall_seconds counts from process start, imports included",
        "pytfpol/results/report.py",
        '        with open("/proc/self/stat", "rb") as stat:',
        '        with open("/proc/self/stat-missing", "rb") as stat:',
        ("tests/unit/test_scale.py::test_wall_seconds_is_the_whole_process_from_its_start",),
    ),
    Mutant(
        "diff-reads-whole-tensors",
        "inspect --diff reads numeric tensors in pieces, never whole",
        "pytfpol/formats/inspect_diff.py",
        "    return (\n        a.dtype_enum == b.dtype_enum\n        and a.shape == b.shape",
        "    return False and (\n        a.dtype_enum == b.dtype_enum\n        and a.shape == b.shape",
        (
            "tests/integration/test_inspect.py::test_diff_streams_numeric_tensors_with_the_whole_array_results",
        ),
    ),
    Mutant(
        "diff-nan-not-above-inf",
        "inspect --diff ranks NaN above inf, as comparing whole arrays did",
        "pytfpol/formats/inspect_diff.py",
        "    rank = np.where(np.isnan(delta), np.inf, delta)",
        "    rank = np.where(np.isnan(delta), 0.0, delta)",
        (
            "tests/integration/test_inspect.py::test_diff_streams_numeric_tensors_with_the_whole_array_results",
        ),
    ),
    Mutant(
        "diff-int64-overflows",
        "inspect --diff gives |a - b| of 64-bit integers exactly",
        "pytfpol/formats/inspect_diff.py",
        "        delta = np.where(a64 >= b64, ua - ub, ub - ua)",
        "        delta = np.abs(a64 - b64)",
        (
            "tests/integration/test_inspect.py::test_diff_streams_numeric_tensors_with_the_whole_array_results",
        ),
    ),
    Mutant(
        "diff-second-checksum-unread",
        "a damaged tensor read in pieces is refused (its checksum checked after the last piece)",
        "pytfpol/formats/inspect_diff.py",
        "    for rest in (pieces_a, pieces_b):",
        "    for rest in ():",
        (
            "tests/integration/test_inspect.py::test_diff_of_a_damaged_piece_is_refused_naming_the_file",
        ),
    ),
    #
    # --- issue 25: typed report documents (W6) ---
    Mutant(
        "report-read-unchecked",
        "25.3: a stats.json read back is validated: a missing key or a wrong type is exit 3 naming the file and the key",
        "pytfpol/formats/report_documents.py",
        "        if origin is not None:\n            _check(cls, data, origin)",
        "        pass",
        (
            DOC + "test_a_bad_stats_json_is_exit_3_naming_the_file_and_the_key[missing-summary]",
            DOC + "test_a_bad_stats_json_is_exit_3_naming_the_file_and_the_key[complete-type]",
        ),
    ),
    Mutant(
        "report-future-schema-read",
        "25.3: a stats.json or sweep.json of a newer schema_version is refused (exit 3), not misread",
        "pytfpol/formats/report_documents.py",
        "    _need(1 <= version <= cls.VERSION,",
        "    _need(1 <= version,",
        (
            DOC + "test_a_bad_stats_json_is_exit_3_naming_the_file_and_the_key[future-schema]",
            DOC + "test_a_bad_sweep_json_is_exit_3_naming_the_file_and_the_key[future-schema]",
        ),
    ),
    Mutant(
        "report-keys-reordered",
        "25.3: the typed documents write the JSON byte for byte as it was built or read",
        "pytfpol/formats/report_documents.py",
        "        keys = self.order or tuple(k for k, _, _ in self.SCHEMA)",
        "        keys = tuple(k for k, _, _ in self.SCHEMA)",
        (DOC + "test_a_report_of_an_older_shape_is_read_and_written_back_unchanged",),
    ),
    Mutant(
        "junit-sweep-taken-for-eval",
        "25.3: JUnit is a view of the document's type: a sweep's report is a sweep suite",
        "pytfpol/formats/report_documents.py",
        '    if report.get("kind") == SWEEP_KIND:\n        return SweepReport',
        "    if False:\n        return SweepReport",
        (DOC + "test_junit_is_a_view_of_the_document_type_not_a_guess",),
    ),
    Mutant(
        "compare-reads-unvalidated",
        "25.3: compare reads stats.json through the one validating reader",
        "pytfpol/commands/compare.py",
        "    report = documents.read_eval_report(file)  # validated: episodes, env.id",
        "    report = EvalReport.from_dict(json.loads(file.read_text()))",
        (DOC + "test_compare_refuses_a_bad_stats_json_with_exit_3_naming_the_key",),
    ),
    # --- issue 25: limits kept by tools (point 6) ---
    # (this part's mutants go below)
    Mutant(
        "module-over-500-lines",
        "no module of pytfpol is over 500 lines",
        "pytfpol/policy/loading.py",
        "from typing import Optional\n",
        "from typing import Optional\n" + "\n# filler" * 460 + "\n",
        ("tests/unit/test_limits.py::test_no_module_is_over_500_lines",),
    ),
    #
    # --- issue 25: the CLI package (W1) ---
    Mutant(
        "help-wraps-at-hyphens",
        "--help wraps between whole words (never at a hyphen) by pytfpol's HelpFormatter, "
        "Click's own text wrapper unpatched",
        "pytfpol/cli/help.py",
        '    return text.replace("-", _UNBREAKABLE_HYPHEN)',
        "    return text",
        (
            "tests/integration/test_cli.py::test_help_wraps_between_whole_words_without_patching_click[60]",
            "tests/integration/test_cli.py::test_help_wraps_between_whole_words_without_patching_click[80]",
        ),
    ),
    Mutant(
        "help-exit-codes-not-from-errors",
        "`pytfpol --help` lists every exit code of pytfpol.errors.EXIT_CODES with its meaning",
        "pytfpol/cli/help.py",
        "EVAL_EXIT_CODES = exit_code_table(dict.fromkeys(EXIT_CODES))",
        "EVAL_EXIT_CODES = exit_code_table(dict.fromkeys(list(EXIT_CODES)[:-1]))",
        ("tests/integration/test_cli.py::test_help_exit_codes_are_the_table_of_pytfpol_errors",),
    ),
    Mutant(
        "commands-loaded-eagerly",
        "`import pytfpol.cli` loads no command module; a command's module is loaded when named",
        "pytfpol/cli/app.py",
        "class PytfpolGroup(click.Group):",
        'for _module in COMMAND_MODULES.values():\n    importlib.import_module(f"pytfpol.cli.{_module}")'
        "\n\n\nclass PytfpolGroup(click.Group):",
        ("tests/integration/test_cli.py::test_commands_are_loaded_only_when_asked_for",),
    ),
    Mutant(
        "env-group-loses-an-option",
        "eval, sweep and compare take the whole env option group",
        "pytfpol/cli/options.py",
        '        click.option("--max-episode-steps", type=IntRange(min=1), help=steps_help),\n',
        "",
        (
            "tests/integration/test_cli.py::test_the_env_options_are_one_group_every_evaluating_command_takes",
        ),
    ),
    Mutant(
        "compare-verdict-unchecked",
        "compare exits 1 when the library's Comparison says the candidate is worse",
        "pytfpol/cli/compare_command.py",
        "        compare.check_verdict(comparison.document)",
        "        pass",
        (
            "tests/integration/test_compare.py::test_the_earlier_weaker_checkpoint_is_worse",
            "tests/integration/test_compare.py::test_compare_is_a_library_function_whose_document_the_cli_prints",
        ),
    ),
    Mutant(
        "compare-library-ignores-statistic",
        "commands.compare.compare judges the statistic its settings name",
        "pytfpol/commands/compare.py",
        "        statistic=settings.statistic,",
        "        statistic=DEFAULT_STATISTIC,",
        (
            "tests/integration/test_compare.py::test_compare_is_a_library_function_whose_document_the_cli_prints",
        ),
    ),
    # --- issue 25: commands and the Python API (W2) ---
    # (this part's mutants go below)
    Mutant(
        "api-imports-tensorflow",
        "`import pytfpol.api` imports no TensorFlow: the first call that loads a policy does",
        "pytfpol/commands/evaluate.py",
        "from pytfpol.policy.quiet_tf import heavy_imports\n",
        "from pytfpol.policy.quiet_tf import heavy_imports\nfrom pytfpol.running import worker\n",
        ("tests/integration/test_cli.py::test_import_pytfpol_api_imports_no_tensorflow",),
    ),
    Mutant(
        "command-imports-another-in-a-function",
        "commands import each other at module level only, downward: no function-level import hides a cycle",
        "pytfpol/commands/replay.py",
        "        run = evaluate(settings, progress)",
        "        from pytfpol.commands.evaluate import evaluate as again\n\n"
        "        run = again(settings, progress)",
        (
            "tests/integration/test_cli.py::"
            "test_commands_import_each_other_only_at_module_level_and_api_only_re_exports",
        ),
    ),
    Mutant(
        "inspect-type-drifts",
        "inspect's typed documents name exactly the keys returned",
        "pytfpol/commands/inspect.py",
        "    warnings: list[str]\n",
        "",
        (
            "tests/integration/test_inspect.py::test_the_typed_documents_of_inspect_are_the_documents_returned",
        ),
    ),
    Mutant(
        "configs-type-drifts",
        "configs' typed result names exactly the keys returned",
        "pytfpol/commands/configs.py",
        "    saved_as: str\n",
        "",
        ("tests/integration/test_inference.py::test_api_configs_is_the_typed_listing",),
    ),
    # --- issue 27: progress in a terminal and in CI (items 1-2) (H1) ---
    # (this part's mutants go below)
    Mutant(
        "checkpoint-line-running-mean",
        "a sweep's line for a finished checkpoint gives that checkpoint's own mean (sweep.json's), "
        "not a mean across the checkpoints so far",
        "pytfpol/commands/sweep/scheduler.py",
        '        entry["step"], entry["summary"].get("mean_return"), len(entry["episodes"]), '
        'entry["reused"]',
        '        entry["step"], sum(e["summary"].get("mean_return") or 0.0 for e in state.entries)'
        ' / len(state.entries), len(entry["episodes"]), entry["reused"]',
        (PROGRESS + "test_a_sweep_in_a_log_prints_one_line_per_checkpoint_with_its_own_mean",),
    ),
    Mutant(
        "checkpoint-line-hides-the-journal",
        "a checkpoint taken from the journal says so on its line",
        "pytfpol/commands/sweep/scheduler.py",
        'len(entry["episodes"]), entry["reused"]',
        'len(entry["episodes"]), False',
        (PROGRESS + "test_a_sweep_in_a_log_prints_one_line_per_checkpoint_with_its_own_mean",),
    ),
    Mutant(
        "bar-counts-a-unit",
        "the terminal's bar counts the episodes of THIS checkpoint (not of a unit, not of the "
        "sweep so far)",
        "pytfpol/commands/sweep/scheduler.py",
        "        state.progress.start(base.episodes, description, state.plan.max_episode_steps)",
        "        state.progress.start(size, description, state.plan.max_episode_steps)",
        (PROGRESS + "test_the_terminal_shows_a_sweep_checkpoint_by_checkpoint_within_80_columns",),
    ),
    Mutant(
        "progress-despite-quiet",
        "-q prints no progress: no lines in a log, no display on a terminal",
        "pytfpol/cli/console.py",
        '        self._mode = "off" if quiet else "live" if live else "lines"',
        '        self._mode = "live" if live else "lines"',
        (
            PROGRESS + "test_a_sweep_in_a_log_prints_one_line_per_checkpoint_with_its_own_mean",
            PROGRESS + "test_a_long_eval_in_a_log_says_it_is_alive",
        ),
    ),
    Mutant(
        "progress-lines-on-stdout",
        "progress goes to stderr only: --json's stdout stays pure JSON",
        "pytfpol/cli/console.py",
        '            self._console.file.write(text + "\\n")',
        '            sys.stdout.write(text + "\\n")',
        (PROGRESS + "test_a_sweep_in_a_log_prints_one_line_per_checkpoint_with_its_own_mean",),
    ),
    Mutant(
        "no-alive-lines",
        "a long eval in a CI log prints a line every ALIVE_SECONDS (episodes so far <= total, "
        "never fewer than before, mean, ETA)",
        "pytfpol/cli/console.py",
        '        if self._mode != "lines" or self._bar is None or now - self._last_line < self._alive:',
        "        if True:",
        (PROGRESS + "test_a_long_eval_in_a_log_says_it_is_alive",),
    ),
    Mutant(
        "alive-lines-ignore-the-interval",
        "alive lines come at most every ALIVE_SECONDS, not at every step",
        "pytfpol/cli/console.py",
        "now - self._last_line < self._alive:",
        "False:",
        (PROGRESS + "test_a_long_eval_in_a_log_says_it_is_alive",),
    ),
    Mutant(
        "eta-left-out-at-80-columns",
        "at 80 columns the ETA stays visible: what is left out is the least needed",
        "pytfpol/cli/console.py",
        "        parts.remove(min(parts, key=lambda part: part[1]))",
        "        parts.pop()",
        (PROGRESS + "test_the_eta_stays_visible_in_a_narrow_terminal",),
    ),
    Mutant(
        "sweep-row-without-eta",
        "the sweep's row shows its checkpoints k/N and the sweep's ETA",
        "pytfpol/cli/console.py",
        '            parts = [(f"checkpoints {sweep.counts()}", 9), (f"ETA {progress_tally.clock(eta)}", 10)]',
        '            parts = [(f"checkpoints {sweep.counts()}", 9)]',
        (PROGRESS + "test_the_terminal_shows_a_sweep_checkpoint_by_checkpoint_within_80_columns",),
    ),
    Mutant(
        "sweep-eta-of-one-checkpoint",
        "the sweep's ETA is of the whole sweep: every episode left at the rate they ran",
        "pytfpol/cli/progress_tally.py",
        "        return max((self.total - self.finished) * self.episodes - self.in_flight, 0)",
        "        return max(self.episodes - self.in_flight, 0)",
        (
            "tests/unit/test_progress_tally.py::test_the_sweep_eta_is_the_episodes_left_at_the_rate_they_ran",
        ),
    ),
    Mutant(
        "watch-count-not-so-far",
        "with --watch the count says 'so far': more checkpoints may come",
        "pytfpol/commands/sweep/state.py",
        "settings.eval.episodes, settings.watch)",
        "settings.eval.episodes, False)",
        (PROGRESS + "test_a_watching_sweep_says_its_count_is_so_far",),
    ),
    Mutant(
        "watched-checkpoint-not-counted",
        "with --watch, N grows by each new checkpoint evaluated (once it is whole)",
        "pytfpol/commands/sweep/scheduler.py",
        '    state.count([entry["checkpoint"]])\n    validate_seconds',
        "    validate_seconds",
        (PROGRESS + "test_a_watching_sweep_counts_the_checkpoints_training_writes",),
    ),
    Mutant(
        "deleted-checkpoint-still-counted",
        "a checkpoint deleted before its turn leaves N",
        "pytfpol/commands/sweep/scheduler.py",
        '            state.count([entry["checkpoint"]], counted=False)\n',
        "",
        (PROGRESS + "test_a_checkpoint_deleted_before_its_turn_leaves_the_count",),
    ),
    # --- issue 25/27: typed results and Markdown summaries (25.1/25.3, 27.4) (H2) ---
    # (this part's mutants go below)
    Mutant(
        "step-summary-truncated",
        "27.4: the summary is appended to $GITHUB_STEP_SUMMARY: what earlier steps wrote is kept",
        "pytfpol/results/summaries.py",
        "    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT",
        "    flags = os.O_WRONLY | os.O_TRUNC | os.O_CREAT",
        (
            MD + "test_the_step_summary_is_appended_keeping_what_is_there",
            SUMMARIES
            + "test_eval_appends_its_summary_and_writes_summary_md_even_when_a_gate_fails",
        ),
    ),
    Mutant(
        "step-summary-follows-symlink",
        "27.4: $GITHUB_STEP_SUMMARY is never written through a symbolic link (a warning instead)",
        "pytfpol/results/summaries.py",
        " | os.O_NOFOLLOW",
        "",
        (MD + "test_a_step_summary_that_is_a_symlink_or_a_fifo_is_a_warning_and_untouched",),
    ),
    Mutant(
        "step-summary-not-a-regular-file",
        "27.4: $GITHUB_STEP_SUMMARY is written only when it is a regular file (a warning instead)",
        "pytfpol/results/summaries.py",
        "        if not stat.S_ISREG(info.st_mode):",
        "        if False:",
        (MD + "test_a_step_summary_that_is_a_symlink_or_a_fifo_is_a_warning_and_untouched",),
    ),
    Mutant(
        "summary-table-unescaped",
        "27.4: a policy path with | or backticks cannot break a summary table or open a code span",
        "pytfpol/results/markdown.py",
        "    return _SPECIAL.sub(",
        "    return one_line or _SPECIAL.sub(",
        (MD + "test_a_policy_path_with_pipes_and_backticks_cannot_break_the_table",),
    ),
    Mutant(
        "summary-failed-gate-shown-passed",
        "27.4: a failed gate is shown FAILED with its expression and value",
        "pytfpol/results/markdown.py",
        '            "passed" if gate.get("passed") else "**FAILED**",',
        '            "passed",',
        (
            MD + "test_a_failed_gate_is_shown_failed_with_its_expression_and_value",
            SUMMARIES
            + "test_eval_appends_its_summary_and_writes_summary_md_even_when_a_gate_fails",
        ),
    ),
    Mutant(
        "summary-statistics-hard-coded",
        "27.4: the statistics table shows every number of the summary (custom metrics too)",
        "pytfpol/results/markdown.py",
        "    flat = dict(_numbers(summary))",
        '    flat = {k: summary.get(k) for k in ("episodes", "mean_return", "mean_return_ci_low",'
        ' "mean_return_ci_high", "iqm_return", "median_return", "std_return", "min_return",'
        ' "max_return")}',
        (
            MD + "test_the_statistics_table_shows_every_number_of_the_summary_custom_metrics_too",
            SUMMARIES
            + "test_eval_appends_its_summary_and_writes_summary_md_even_when_a_gate_fails",
        ),
    ),
    Mutant(
        "summary-compare-verdict-missing",
        "27.4: compare's summary gives the verdict",
        "pytfpol/results/markdown.py",
        '        f"**Verdict: {text(result.verdict)}** on {text(result.statistic)}"',
        '        f"on {text(result.statistic)}"',
        (
            MD + "test_the_compare_summary_gives_the_verdict_and_both_sides",
            SUMMARIES + "test_compare_summary_gives_the_verdict_and_the_numbers_of_the_result",
        ),
    ),
    Mutant(
        "summary-sweep-first-checkpoint-only",
        "27.4: sweep's summary has a row per checkpoint",
        "pytfpol/results/markdown.py",
        "    for entry in entries:\n        summary = entry.get",
        "    for entry in entries[:1]:\n        summary = entry.get",
        (
            MD + "test_the_sweep_summary_has_a_row_per_checkpoint_and_the_best",
            SUMMARIES + "test_sweep_summary_has_each_checkpoint_and_the_best",
        ),
    ),
    Mutant(
        "summary-not-written-for-worse",
        "27.4: a 'worse' verdict (exit 1) still writes compare's summary",
        "pytfpol/cli/compare_command.py",
        "        write_summaries(summary_path, comparison.document)\n"
        "        compare.check_verdict(comparison.document)",
        "        compare.check_verdict(comparison.document)\n"
        "        write_summaries(summary_path, comparison.document)",
        (SUMMARIES + "test_compare_summary_gives_the_verdict_and_the_numbers_of_the_result",),
    ),
    Mutant(
        "summary-not-written-for-an-incomplete-run",
        "27.4: a run that stops early (exit 4) still writes its summary, INCOMPLETE",
        "pytfpol/cli/runner.py",
        "            write_summaries(summary_path, exc.report)\n",
        "",
        (SUMMARIES + "test_a_run_that_stops_early_still_summarises_what_it_wrote",),
    ),
    Mutant(
        "summary-inside-out-accepted",
        "27.4: --summary inside --out is refused (exit 2) before anything runs",
        "pytfpol/results/summaries.py",
        "    if not path or not out:\n        return",
        "    if True:\n        return",
        (
            MD + "test_a_summary_inside_out_is_refused",
            SUMMARIES + "test_a_summary_inside_out_is_refused_before_anything_runs",
        ),
    ),
    Mutant(
        "evaluate-returns-a-dict",
        "25.1: api.evaluate returns the typed EvalReport whose document is stats.json",
        "pytfpol/commands/evaluate.py",
        "    report = documents.EvalReport.from_dict(built)",
        "    report = built",
        (SUMMARIES + "test_evaluate_returns_the_typed_report_whose_document_is_stats_json",),
    ),
    Mutant(
        "sources-reads-stats-json-its-own-way",
        "25.3: an eval output given as POLICY is read with the one validating reader",
        "pytfpol/formats/sources.py",
        "    policy = report_documents.read_eval_report(path).policy",
        '    policy = __import__("json").loads(path.read_text())["policy"]',
        (SUMMARIES + "test_an_eval_output_is_read_with_the_one_validating_reader",),
    ),
    Mutant(
        "inspect-reads-stats-json-its-own-way",
        "25.3: inspect OUT reads stats.json with the one validating reader",
        "pytfpol/formats/inspect_report.py",
        "    report = report_documents.read_eval_report(path)",
        "    report = report_documents.EvalReport.from_dict(__import__('json').loads(path.read_text()))",
        (SUMMARIES + "test_an_eval_output_is_read_with_the_one_validating_reader",),
    ),
    Mutant(
        "compare-result-read-unchecked",
        "25.3: a compare result read back is validated (schema, key types): exit 3 naming the key",
        "pytfpol/formats/report_documents.py",
        "    result = CompareResult.from_dict(data, Path(path))",
        "    result = CompareResult.from_dict(data)",
        (
            DOC + "test_a_bad_compare_result_is_exit_3_naming_the_key[margin-type]",
            DOC + "test_a_bad_compare_result_is_exit_3_naming_the_key[future-schema]",
        ),
    ),
    Mutant(
        "compare-result-verdict-unchecked",
        "25.3: a compare result with an unknown verdict, or passed contradicting it, is refused",
        "pytfpol/formats/report_documents.py",
        "    _need(result.verdict in VERDICTS,",
        "    _need(True,",
        (DOC + "test_a_bad_compare_result_is_exit_3_naming_the_key[unknown-verdict]",),
    ),
    Mutant(
        "mapping-bridge-compares-identity",
        "25.1: a typed document equals the JSON object it stands for (the bridge for dict users)",
        "pytfpol/formats/report_documents.py",
        "            return self.to_dict() == dict(other)",
        "            return self is other",
        (DOC + "test_a_document_is_read_only_as_a_mapping_and_equal_to_its_json_object",),
    ),
    # --- issue 27: the GitHub Action (item 3) (H3) ---
    # (this part's mutants go below)
    Mutant(
        "action-input-in-run-text",
        "no input of the action is pasted into a run: script (inputs reach scripts through env:)",
        "action.yml",
        """      run: '"$PYTFPOL_VENV/bin/python" "$GITHUB_ACTION_PATH/ci/action/run.py"'""",
        """      run: '"$PYTFPOL_VENV/bin/python" "$GITHUB_ACTION_PATH/ci/action/run.py" ${{ inputs.extra-args }}'""",
        (ACTION + "test_no_run_step_has_an_expression_in_its_text",),
    ),
    Mutant(
        "action-arguments-through-a-shell",
        "shell syntax in an input of the action runs no command",
        "ci/action/run.py",
        '    return arguments + split_extra_args(env.get("PYTFPOL_EXTRA_ARGS", ""))\n',
        "    return arguments + subprocess.run(  # words as a shell expands them\n"
        '        ["bash", "-c", "printf \'%s\\\\n\' " + env.get("PYTFPOL_EXTRA_ARGS", "")],\n'
        "        capture_output=True, text=True).stdout.split()\n",
        (ACTION + "test_no_input_runs_a_command",),
    ),
    Mutant(
        "action-gates-split-on-lines-only",
        "the action's gates input takes gates one a line or separated by ;",
        "ci/action/run.py",
        '    items = text.replace(";", "\\n").splitlines()\n',
        "    items = text.splitlines()\n",
        (ACTION + "test_a_failing_gate_fails_the_step_and_still_writes_the_outputs",),
    ),
    Mutant(
        "action-no-outputs-when-a-gate-fails",
        "a failing gate fails the action's step (exit 1) and still writes its outputs",
        "ci/action/run.py",
        "    if report_signature(stats) in (None, before):  # this run wrote no report\n",
        "    if code or report_signature(stats) in (None, before):  # this run wrote no report\n",
        (ACTION + "test_a_failing_gate_fails_the_step_and_still_writes_the_outputs",),
    ),
    Mutant(
        "action-outputs-of-an-earlier-report",
        "a run that writes no report sets no statistics outputs, even over an earlier report in OUT",
        "ci/action/run.py",
        "    if report_signature(stats) in (None, before):  # this run wrote no report\n",
        "    if report_signature(stats) is None:  # this run wrote no report\n",
        (ACTION + "test_no_input_runs_a_command",),
    ),
    Mutant(
        "action-mean-is-the-iqm",
        "the action's mean and iqm outputs are the report's mean_return and iqm_return",
        "ci/action/run.py",
        '        "mean": number(summary.get("mean_return")),\n',
        '        "mean": number(summary.get("iqm_return")),\n',
        (ACTION + "test_a_candidate_worse_than_the_baseline_fails_the_step",),
    ),
    Mutant(
        "action-compare-exit-ignored",
        "a candidate worse than the baseline fails the action's step, with the verdict as output",
        "ci/action/run.py",
        "        code = code or compared\n",
        "",
        (ACTION + "test_a_candidate_worse_than_the_baseline_fails_the_step",),
    ),
    Mutant(
        "action-outputs-as-lines",
        "no input value can add or change another output of the action",
        "ci/action/run.py",
        '        lines.append(f"{name}<<{delimiter}\\n{value}\\n{delimiter}\\n")\n',
        '        lines.append(f"{name}={value}\\n")\n',
        (ACTION + "test_an_input_cannot_add_an_output",),
    ),
    Mutant(
        "action-upload-not-always",
        "the action uploads OUT even when the step failed (a failing gate)",
        "action.yml",
        "      if: always() && steps.evaluate.outputs.report != ''\n",
        "      if: steps.evaluate.outputs.report != ''\n",
        (ACTION + "test_the_upload_runs_when_the_step_failed_and_uploads_out",),
    ),
    Mutant(
        "action-install-ignores-the-lock",
        "the action installs exactly requirements.lock, then pytfpol from its checkout",
        "ci/action/install.sh",
        '"${pip[@]}" -r "$action_path/requirements.lock"\n',
        "",
        (ACTION + "test_the_install_step_installs_the_checkout_and_holds_to_the_lock",),
    ),
    Mutant(
        "action-cache-key-ignores-the-lock",
        "the action's cached virtualenv is keyed on requirements.lock",
        "ci/action/cache-key.sh",
        'hashed=("$action_path/requirements.lock" "$action_path/pyproject.toml")',
        'hashed=("$action_path/pyproject.toml")',
        (ACTION + "test_the_cache_is_keyed_on_the_lock_and_saved_before_the_evaluation",),
    ),
    Mutant(
        "action-example-unknown-input",
        "examples/ci/action-workflow.yml gives the action only inputs it has",
        "examples/ci/action-workflow.yml",
        "          extra-args: --plot\n",
        "          extra_args: --plot\n",
        (ACTION + "test_the_example_workflow_gives_the_action_only_its_inputs",),
    ),
    # --- issue 27: replay of any checkpoint, a different sweep into OUT (items 6, 8) (H4) ---
    # (this part's mutants go below)
    Mutant(
        "replay-sweep-ignores-step",
        "replay OUT --step N --episode K replays episode K of step N, as the sweep recorded it",
        "pytfpol/commands/replay_sweep.py",
        '    found = [e for e in entries if e["step"] == step and run in (None, e["run"])]\n',
        '    found = [e for e in entries if run in (None, e["run"])][-1:]\n',
        (REPLAY_SWEEP + "test_replay_of_two_steps_reproduces_their_recorded_episodes",),
    ),
    Mutant(
        "replay-sweep-trusts-a-changed-checkpoint",
        "replay of a sweep's step refuses (exit 3) a checkpoint changed since the sweep",
        "pytfpol/commands/replay_sweep.py",
        '    if key != entry["key"]:\n',
        "    if False:\n",
        (REPLAY_SWEEP + "test_replay_refuses_a_checkpoint_changed_since_the_sweep",),
    ),
    Mutant(
        "replay-sweep-lists-no-steps",
        "replay of a sweep's OUT without --step is exit 2 listing the steps it can replay",
        "pytfpol/commands/replay_sweep.py",
        '            f"{_listing(entries, identity)}",\n',
        '            "see sweep.json",\n',
        (REPLAY_SWEEP + "test_replay_of_a_sweep_without_step_lists_its_steps",),
    ),
    Mutant(
        "replay-best-without-its-checkpoint",
        "replay of a sweep's best/ (an eval output) loads the checkpoint it recorded",
        "pytfpol/commands/replay.py",
        '        path, checkpoint, config = policy["resolved_path"], policy["checkpoint"], policy["config"]\n',
        '        path, checkpoint, config = policy["resolved_path"], None, policy["config"]\n',
        (REPLAY_SWEEP + "test_replay_of_the_best_directory",),
    ),
    Mutant(
        "replay-overwrites-existing-files",
        "replay --video/--trajectory refuse (exit 5) an existing file unless --overwrite",
        "pytfpol/commands/replay.py",
        "    if os.path.lexists(target) and not target.is_dir() and not overwrite:\n",
        "    if False:\n",
        (REPLAY_SWEEP + "test_video_and_trajectory_are_not_overwritten_without_overwrite",),
    ),
    Mutant(
        "replay-hint-of-compare",
        "replay of a directory without a report names eval and sweep outputs (not compare's --env)",
        "pytfpol/commands/replay.py",
        "    if os.path.isdir(out) and not os.path.lexists(Path(out) / files.STATS_JSON):\n",
        "    if False:\n",
        (REPLAY_SWEEP + "test_replay_of_a_directory_without_a_report_hints_at_eval_and_sweep",),
    ),
    Mutant(
        "another-sweep-silently-replaces",
        "another sweep (other settings) into OUT is exit 5 unless --overwrite, OUT unchanged",
        "pytfpol/commands/sweep/identity.py",
        "    if found:\n",
        "    if False:\n",
        (REPLAY_SWEEP + "test_a_sweep_with_another_seed_is_refused_and_out_is_unchanged",),
    ),
    Mutant(
        "another-run-not-named",
        "another sweep of other run dirs into OUT is exit 5 naming the runs (RUN X vs Y recorded)",
        "pytfpol/commands/sweep/identity.py",
        '        "runs": [str(Path(p).resolve()) for p in settings.paths],\n',
        "",
        (REPLAY_SWEEP + "test_a_sweep_of_another_run_is_refused_and_out_is_unchanged",),
    ),
    Mutant(
        "same-sweep-taken-for-another",
        "the same sweep into OUT again resumes (nothing re-evaluated)",
        "pytfpol/commands/sweep/identity.py",
        "        if key in held and held[key] != value\n",
        "        if key in held and held[key] is not value\n",
        (REPLAY_SWEEP + "test_the_same_sweep_again_resumes_and_evaluates_nothing",),
    ),
    Mutant(
        "identity-holds-how-episodes-run",
        "a sweep with other --num-envs, --select, --confirm-episodes is the same sweep (resumes)",
        "pytfpol/commands/sweep/identity.py",
        '        "wrappers": [str(w) for w in base.wrappers],\n',
        '        "wrappers": [str(w) for w in base.wrappers],\n        "num_envs": base.num_envs,\n',
        (PROMISES + "test_the_journal_key_ignores_what_the_result_does_not_depend_on",),
    ),
    Mutant(
        "overwrite-still-refused",
        "with --overwrite another sweep replaces the sweep in OUT",
        "pytfpol/commands/sweep/identity.py",
        "    if settings.eval.overwrite or not Path(out).is_dir():\n",
        "    if not Path(out).is_dir():\n",
        (REPLAY_SWEEP + "test_overwrite_replaces_the_other_sweep_but_never_a_users_file",),
    ),
    # --- issue 27: custom metrics, TensorBoard for one eval (items 9, 5) (H5) ---
    # (this part's mutants go below)
    Mutant(
        "metric-sum-keeps-last",
        "--metric info.KEY (sum) sums every step's info[KEY] over the episode",
        "pytfpol/running/metrics.py",
        "                self.totals[rows, j] += values[:, j]\n",
        "                self.totals[rows, j] = values[:, j]\n",
        (
            METRICS + "test_each_aggregation_gives_the_exact_value_per_episode[sync]",
            METRICS + "test_sweep_reports_each_checkpoints_metric_and_writes_its_tag",
        ),
    ),
    Mutant(
        "metric-max-sums",
        ":max is the episode's largest info[KEY]",
        "pytfpol/running/metrics.py",
        "np.maximum(self.totals[rows, j], values[:, j])",
        "self.totals[rows, j] + values[:, j]",
        (METRICS + "test_each_aggregation_gives_the_exact_value_per_episode[sync]",),
    ),
    Mutant(
        "metric-mean-undivided",
        ":mean is the sum over the episode's length",
        "pytfpol/running/metrics.py",
        'value / length if metric.aggregation == "mean" else value',
        "value",
        (METRICS + "test_each_aggregation_gives_the_exact_value_per_episode[sync]",),
    ),
    Mutant(
        "metric-async-workers-blind",
        "metrics are read in --vector async's worker processes too",
        "pytfpol/running/vector.py",
        "args=(child, env_spec.for_workers(), size, self.metrics),",
        "args=(child, env_spec.for_workers(), size),",
        (METRICS + "test_each_aggregation_gives_the_exact_value_per_episode[async]",),
    ),
    Mutant(
        "metric-worker-drops-metrics",
        "a unit's --metric reaches the stepper of whichever process runs it (local and Ray)",
        "pytfpol/running/worker.py",
        "metrics=unit.options.metrics,",
        "metrics=(),",
        (
            METRICS + "test_each_aggregation_gives_the_exact_value_per_episode[sync]",
            "tests/integration/test_ray.py::test_metrics_on_ray_equal_the_local_eval",
        ),
    ),
    Mutant(
        "metric-missing-is-zero",
        "a missing info key is exit 4 naming the key, env, episode and step",
        "pytfpol/running/metrics.py",
        '        raise InfoProblem(f"info has no {key!r}") from None\n',
        "        return 0.0\n",
        (
            METRICS
            + "test_a_missing_or_bad_value_is_exit_4_naming_key_env_episode_and_step[sync-missing-info has no 't']",
            METRICS + "test_last_needs_the_key_only_in_the_final_steps_info",
        ),
    ),
    Mutant(
        "metric-nonfinite-accepted",
        "a non-finite info value is exit 4 naming the key",
        "pytfpol/running/metrics.py",
        "    if not math.isfinite(number):\n",
        "    if False:\n",
        (
            METRICS
            + "test_a_missing_or_bad_value_is_exit_4_naming_key_env_episode_and_step[sync-nan-info['t'] is not finite (nan)]",
        ),
    ),
    Mutant(
        "metric-text-accepted",
        "a non-numeric info value is exit 4 naming the key",
        "pytfpol/running/metrics.py",
        "    if isinstance(value, (str, bytes)):\n",
        "    if False:\n",
        (
            METRICS
            + "test_a_missing_or_bad_value_is_exit_4_naming_key_env_episode_and_step[sync-text-info['t'] is not a number (str)]",
        ),
    ),
    Mutant(
        "metric-error-without-step",
        "the missing-key error names the step",
        "pytfpol/running/evaluation.py",
        'error = info_failure(f"{where} at step {step}", exc.description)',
        "error = info_failure(where, exc.description)",
        (
            METRICS
            + "test_a_missing_or_bad_value_is_exit_4_naming_key_env_episode_and_step[async-missing-info has no 't']",
        ),
    ),
    Mutant(
        "metric-last-needs-every-step",
        ":last needs the key only in the final step's info",
        "pytfpol/running/metrics.py",
        '        return self.aggregation != "last"\n',
        "        return True\n",
        (METRICS + "test_last_needs_the_key_only_in_the_final_steps_info",),
    ),
    Mutant(
        "metric-no-summary",
        "the summary holds info.KEY_mean, _iqm, ..., as the return's statistics (and gates read them)",
        "pytfpol/results/report.py",
        "        computed.values.update(metric_values)\n",
        "        pass\n",
        (
            METRICS + "test_metric_statistics_are_the_returns_statistics_of_its_values",
            METRICS + "test_a_gate_on_a_metric_statistic",
        ),
    ),
    Mutant(
        "metric-iqm-is-mean",
        "a metric's IQM is the interquartile mean of its per-episode values",
        "pytfpol/results/report.py",
        'suffix = key.replace("_return", "", 1)',
        'suffix = key.replace("_return", "", 1).replace("iqm", "mean")',
        (METRICS + "test_metric_statistics_are_the_returns_statistics_of_its_values",),
    ),
    Mutant(
        "metric-gate-unasked-accepted",
        "a gate on a metric not measured is exit 2",
        "pytfpol/settings.py",
        "            if name and name not in asked:\n",
        "            if False:\n",
        (METRICS + "test_metric_and_gate_usage_errors_are_exit_2[more0-info.t is not measured]",),
    ),
    Mutant(
        "metric-key-unvalidated",
        "KEY is validated as [A-Za-z0-9_.-]+ (exit 2)",
        "pytfpol/running/metrics.py",
        'KEY_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,100}")',
        'KEY_PATTERN = re.compile(r".{1,100}")',
        (METRICS + "test_metric_and_gate_usage_errors_are_exit_2[more3-not of the form info.KEY]",),
    ),
    Mutant(
        "metric-reader-unchecked",
        "the stats.json reader validates each episode's metrics",
        "pytfpol/formats/report_documents.py",
        '        _check_metric_values(episode, path, f"{where}.")\n',
        "",
        (METRICS + "test_the_reader_refuses_a_non_numeric_episode_metric",),
    ),
    Mutant(
        "metric-native-mask-ignored",
        "a vector env's info is read with its _KEY masks",
        "pytfpol/running/metrics.py",
        "            if not mask[k]:\n",
        "            if False:\n",
        (METRICS + "test_native_vector_info_uses_the_key_masks",),
    ),
    Mutant(
        "metric-journal-key-ignores-metrics",
        "a sweep's journal key holds its --metric list",
        "pytfpol/commands/sweep/journal_key.py",
        " if base.metrics else {}",
        " if False else {}",
        (METRICS + "test_a_sweep_journal_entry_without_the_metric_is_not_reused_for_one_with_it",),
    ),
    Mutant(
        "eval-tensorboard-not-written",
        "eval writes TensorBoard events (OUT/tensorboard by default)",
        "pytfpol/commands/evaluate.py",
        "        _write_tensorboard(settings, report, stage, out)\n",
        "",
        (METRICS + "test_eval_writes_tensorboard_events_at_the_train_step_equal_to_stats_json",),
    ),
    Mutant(
        "eval-tensorboard-step-zero",
        "eval's events are at the policy's train step",
        "pytfpol/results/sweep_report.py",
        '"step": 0 if step is None else step,',
        '"step": 0,',
        (METRICS + "test_eval_writes_tensorboard_events_at_the_train_step_equal_to_stats_json",),
    ),
    Mutant(
        "tensorboard-no-metric-tag",
        "each metric has a TensorBoard tag Metrics/info.KEY (eval and sweep)",
        "pytfpol/results/sweep_report.py",
        'for tag, value in metric_scalars(entry["summary"]):',
        "for tag, value in []:",
        (
            METRICS + "test_eval_writes_tensorboard_events_at_the_train_step_equal_to_stats_json",
            METRICS + "test_sweep_reports_each_checkpoints_metric_and_writes_its_tag",
        ),
    ),
    Mutant(
        "eval-tensorboard-dir-ignored",
        "--tensorboard DIR gets eval's events (not OUT), beside what DIR held",
        "pytfpol/commands/evaluate.py",
        "    board = Path(settings.tensorboard) if settings.tensorboard else stage / layout.TENSORBOARD_DIR\n",
        "    board = stage / layout.TENSORBOARD_DIR\n",
        (METRICS + "test_tensorboard_dir_outside_out_gets_new_event_files_only",),
    ),
    Mutant(
        "eval-tensorboard-for-incomplete",
        "an incomplete eval writes no events",
        "pytfpol/commands/evaluate.py",
        '    if report["error"] is not None:\n        return\n    board',
        "    board",
        (METRICS + "test_an_incomplete_eval_writes_no_events",),
    ),
    Mutant(
        "eval-tensorboard-not-an-output",
        "eval's tensorboard/ is part of its output set (in the manifest)",
        "pytfpol/results/output_manifest.py",
        "    RETURNS_PNG,\n    layout.TENSORBOARD_DIR,\n",
        "    RETURNS_PNG,\n",
        (METRICS + "test_eval_writes_tensorboard_events_at_the_train_step_equal_to_stats_json",),
    ),
    Mutant(
        "metric-ray-drops-metrics",
        "--backend ray carries each episode's metrics back from the actors",
        "pytfpol/running/ray_runner.py",
        "            records, train_step = result.records, result.train_step\n",
        "            from dataclasses import replace\n\n"
        "            records = [replace(r, metrics=None) for r in result.records]\n"
        "            train_step = result.train_step\n",
        (RAY + "test_metrics_on_ray_equal_the_local_eval",),
    ),
    Mutant(
        "metric-csv-column-dropped",
        "episodes.csv has an info.KEY column per --metric (eval and sweep)",
        "pytfpol/results/files.py",
        '    return tuple(episodes[0].get("metrics") or ()) if episodes else ()\n',
        "    return ()\n",
        (
            METRICS + "test_metric_statistics_are_the_returns_statistics_of_its_values",
            METRICS + "test_sweep_reports_each_checkpoints_metric_and_writes_its_tag",
        ),
    ),
    # --- issue 27: --watch before training, messages (items 7, 10) (H6) ---
    # (this part's mutants go below)
    Mutant(
        "watch-does-not-wait-for-the-run",
        "sweep --watch started before training waits for a run directory not there yet",
        "pytfpol/commands/sweep/__init__.py",
        "        if settings.watch:\n            wait_for_runs(settings, progress)\n",
        "",
        (
            "tests/integration/test_watch_before_training.py::test_a_watch_started_before_training_waits_for_the_run",
            "tests/integration/test_watch_before_training.py::test_a_run_that_never_appears_is_a_missing_input_at_the_watch_timeout",
        ),
    ),
    Mutant(
        "watch-says-waiting-at-every-listing",
        "while --watch waits for a run directory, stderr says so once, not at every listing",
        "pytfpol/commands/sweep/watch.py",
        '        progress.warn(f"waiting for {path} to appear (--watch)")\n'
        "        while not _appeared(path):\n",
        "        while not _appeared(path):\n"
        '            progress.warn(f"waiting for {path} to appear (--watch)")\n',
        (
            "tests/integration/test_watch_before_training.py::test_a_watch_started_before_training_waits_for_the_run",
            "tests/integration/test_watch_before_training.py::test_a_run_that_never_appears_is_a_missing_input_at_the_watch_timeout",
        ),
    ),
    Mutant(
        "watch-timeout-without-the-run-not-named",
        "--watch-timeout passing before the run directory appears: exit 3 naming it and the wait",
        "pytfpol/commands/sweep/watch.py",
        "            if timeout is not None and time.monotonic() - started > timeout:\n"
        "                raise InputError(\n",
        "            if timeout is not None and time.monotonic() - started > timeout:\n"
        "                return\n"
        "                raise InputError(\n",
        (
            "tests/integration/test_watch_before_training.py::test_a_run_that_never_appears_is_a_missing_input_at_the_watch_timeout",
        ),
    ),
    Mutant(
        "watch-takes-an-empty-directory-for-the-run",
        "the empty directory training makes before its first checkpoint is waited on, not refused",
        "pytfpol/commands/sweep/watch.py",
        "            return bool(os.listdir(path))\n",
        "            return True\n",
        (
            "tests/integration/test_watch_before_training.py::test_a_watch_started_before_training_waits_for_the_run",
        ),
    ),
    Mutant(
        "watch-waits-on-a-file",
        "what appears where the run should is checked as a given path is (a file is refused)",
        "pytfpol/commands/sweep/watch.py",
        "            return True  # unreadable: reported by the checks of a given path\n"
        "    return True\n",
        "            return True  # unreadable: reported by the checks of a given path\n"
        "    return False\n",
        (
            "tests/integration/test_watch_before_training.py::test_what_appears_is_checked_as_a_given_path_is",
        ),
    ),
    Mutant(
        "missing-env-says-only-its-name",
        "a missing --env says what it is, with an example",
        "pytfpol/cli/app.py",
        '    "--env": "the Gymnasium id to evaluate in, e.g. --env CartPole-v1",\n',
        "",
        ("tests/integration/test_messages.py::test_a_missing_env_says_what_it_is_with_an_example",),
    ),
    Mutant(
        "config-named-by-where-it-lives",
        "a --config that does not fit is named as the user gave it (a shipped one by its name)",
        "pytfpol/policy/rebuilt.py",
        '    return "--config " + (path.stem if path.parent == SHIPPED_CONFIGS_DIR else config.path)\n',
        '    return "--config " + config.path\n',
        ("tests/integration/test_messages.py::test_a_config_that_does_not_fit_is_named_as_given",),
    ),
    Mutant(
        "config-misfit-speaks-of-the-layer",
        "a --config that does not fit: the message leads with the config and gives the fix",
        "pytfpol/policy/checkpoints.py",
        '            f"{config_path} does not fit {prefix}: {problem}",\n',
        '            f"{prefix}: {problem} ({config_path})",\n',
        ("tests/integration/test_messages.py::test_a_config_that_does_not_fit_is_named_as_given",),
    ),
    Mutant(
        "stats-policy-path-relative",
        "stats.json keeps the policy path as given and absolute; replay from elsewhere uses it",
        "pytfpol/results/report.py",
        '            "resolved_path": _absolute(source.path),\n',
        '            "resolved_path": str(source.path),\n',
        (
            "tests/integration/test_messages.py::test_stats_json_keeps_the_policy_path_as_given_and_absolute",
        ),
    ),
    Mutant(
        "curve-best-not-labelled",
        "curve.png labels the best checkpoint with its step beside the marker",
        "pytfpol/results/plots.py",
        '    axis.annotate(f"best: step {step}", xy=(step, value), xytext=(0, -16),\n',
        '    axis.annotate(f"best: step {step}", xy=(step, 0), xytext=(0, -16),\n',
        (
            "tests/integration/test_messages.py::test_the_curve_marks_the_best_checkpoint_with_its_step",
        ),
    ),
    Mutant(
        "curve-best-not-marked",
        "curve.png marks the best checkpoint on the curve",
        "pytfpol/results/plots.py",
        '    axis.plot([step], [value], marker="*", ms=16, color=BEST_COLOR, ls="none",\n',
        '    axis.plot([step], [value], marker="", ms=16, color=BEST_COLOR, ls="none",\n',
        (
            "tests/integration/test_messages.py::test_the_curve_marks_the_best_checkpoint_with_its_step",
        ),
    ),
    Mutant(
        "demo-does-not-say-how-to-activate",
        "make demo's last line says how to put pytfpol on PATH",
        "Makefile",
        "\t@echo \"pytfpol is in $(BIN): run '. $(BIN)/activate' to use it\"\n",
        "",
        ("tests/unit/test_setup.py::test_make_demo_ends_by_saying_how_to_get_pytfpol_on_the_path",),
    ),
    Mutant(
        "demo-pip-says-a-new-release-exists",
        "make demo's pip prints no notice that a newer pip exists",
        "Makefile",
        "export PIP_DISABLE_PIP_VERSION_CHECK := 1\n",
        "",
        (
            "tests/unit/test_setup.py::test_the_install_asks_pip_for_no_notices_but_keeps_its_errors",
        ),
    ),
    # --- issue 26: the stepping loop, reading, start-up (rows num-envs, 400 MB, start-up) (H7) ---
    # (this part's mutants go below)
    Mutant(
        "finite-fast-path-first-element",
        "the loop's finiteness fast path sees a NaN/inf in any row and element, at any batch size",
        "pytfpol/running/step_checks.py",
        "    return bool(flat.dot(_zeros(flat.size, flat.dtype)) == 0)\n",
        "    return bool(np.isfinite(flat[:1]).all())\n",
        (STEP_CHECKS + "test_all_finite_finds_a_non_finite_value_in_any_position",),
    ),
    Mutant(
        "finite-fast-path-by-sum",
        "finite values whose sum overflows do not stop a run (the fast path does not sum)",
        "pytfpol/running/step_checks.py",
        "    return bool(flat.dot(_zeros(flat.size, flat.dtype)) == 0)\n",
        "    return bool(np.isfinite(flat.sum()))\n",
        (STEP_CHECKS + "test_all_finite_accepts_huge_finite_values_whose_sum_overflows",),
    ),
    Mutant(
        "int-action-bounds-first-row",
        "a small integer action batch is bounds-checked in every row, below and above",
        "pytfpol/running/step_checks.py",
        "        return low <= min(values) and max(values) <= high\n",
        "        return low <= values[0] <= high\n",
        (STEP_CHECKS + "test_integer_action_bounds_checked_in_every_row",),
    ),
    Mutant(
        "success-dropped-without-per-step-array",
        "an ended episode's is_success is reported (no per-step array for the steps that end none)",
        "pytfpol/running/stepper.py",
        "        success = _success(infos, done)\n",
        "        success = _unknown_success(len(infos))\n",
        (
            STEP_CHECKS + "test_step_envs_reports_success_only_for_the_episodes_that_ended",
            "tests/integration/test_gates.py::test_success_rate_from_the_envs_final_is_success",
        ),
    ),
    Mutant(
        "validated-values-unaligned",
        "large tensors validation read are 64-byte aligned: TensorFlow assigns them without a copy",
        "pytfpol/formats/tensor_data.py",
        "    raw = aligned_empty(entry.size)\n",
        "    raw = np.empty(entry.size, np.uint8)\n",
        (
            "tests/integration/test_fast_restore.py::"
            "test_large_tensors_are_read_into_aligned_arrays_with_their_values",
        ),
    ),
    Mutant(
        "iqm-rounds-the-cut",
        "the IQM is scipy.stats.trim_mean(x, 0.25) bit for bit (int(n/4) cut from each end)",
        "pytfpol/stats.py",
        "    low = int(IQM_CUT * count)\n",
        "    low = round(IQM_CUT * count)\n",
        (IQM + "test_iqm_is_scipys_trim_mean_bit_for_bit",),
    ),
    Mutant(
        "one-episode-imports-scipy-stats",
        "a one-episode eval's summary does not import scipy.stats (start-up memory)",
        "pytfpol/stats.py",
        "    r = np.asarray(returns, dtype=np.float64)\n",
        "    from scipy import stats  # noqa: F401\n\n    r = np.asarray(returns, dtype=np.float64)\n",
        (IQM + "test_one_episode_summary_does_not_import_scipy_stats",),
    ),
    Mutant(
        "step-type-stays-first",
        "rows that started an episode are MID from their second step on (recurrent state kept)",
        "pytfpol/running/evaluation.py",
        "            lane.step_type[rows] = ts.StepType.MID\n",
        "            pass\n",
        ("tests/integration/test_parallel.py::test_loop_resets_state_per_episode_in_every_group",),
    ),
    # --- issue 26: re-runs without TensorFlow, small sweeps, Ray units (H8) ---
    # (this part's mutants go below)
    Mutant(
        "rerun-imports-tensorflow",
        "a re-run of a finished sweep with nothing new (and a --watch poll) imports no TensorFlow",
        "pytfpol/commands/sweep/state.py",
        "    return SweepState(\n        plan=plan,",
        "    from pytfpol.running import worker  # noqa: F401\n\n"
        "    return SweepState(\n        plan=plan,",
        (
            "tests/integration/test_sweep_rerun.py::test_a_rerun_with_nothing_new_imports_no_tensorflow_and_writes_the_same",
            "tests/integration/test_sweep_rerun.py::test_a_watch_poll_with_nothing_new_imports_no_tensorflow",
        ),
    ),
    Mutant(
        "rerun-versions-import-tensorflow",
        "sweep.json's versions are read without importing TensorFlow (installed metadata)",
        "pytfpol/results/report.py",
        "    if module not in sys.modules:\n        for name",
        "    if False:\n        for name",
        (
            "tests/integration/test_sweep_rerun.py::test_a_rerun_with_nothing_new_imports_no_tensorflow_and_writes_the_same",
        ),
    ),
    Mutant(
        "rerun-confirms-the-best-again",
        "a re-run keeps OUT/best when the journal and OUT's output set say it is the same",
        "pytfpol/commands/sweep/best.py",
        "    if reuse.carry_over(state.journal, key, state.out, directory.parent, layout.BEST_DIR):",
        "    if False:",
        (
            "tests/integration/test_sweep_rerun.py::test_a_rerun_with_nothing_new_imports_no_tensorflow_and_writes_the_same",
        ),
    ),
    Mutant(
        "tensorboard-imports-tensorflow",
        "TensorBoard events are written without TensorFlow (a re-run with nothing new needs none)",
        "pytfpol/results/sweep_report.py",
        "    events = tensorboard_events.EventFile(logdir)\n",
        '    __import__("tensorflow")\n    events = tensorboard_events.EventFile(logdir)\n',
        (
            "tests/integration/test_sweep_rerun.py::test_a_watch_poll_with_nothing_new_imports_no_tensorflow",
        ),
    ),
    Mutant(
        "event-histogram-not-tf-summary",
        "the event files hold the records tf.summary writes: one value's histogram in the last bucket",
        "pytfpol/results/tensorboard_events.py",
        "        counts[-1] = data.size\n",
        "        counts[0] = data.size\n",
        (
            "tests/integration/test_sweep_rerun.py::test_the_event_files_hold_the_records_tf_summary_writes",
        ),
    ),
    Mutant(
        "ray-driver-imports-tensorflow",
        "a sweep's driver on Ray that loads no policy (no confirmation) imports no TensorFlow",
        "pytfpol/running/runners.py",
        "if TYPE_CHECKING:  # TensorFlow: imported when the first worker is made (a Ray driver never)\n"
        "    from pytfpol.running.worker import PolicyWorker\n",
        "from pytfpol.running.worker import PolicyWorker\n",
        (
            "tests/integration/test_ray.py::test_a_ray_driver_that_loads_no_policy_imports_no_tensorflow",
        ),
    ),
    Mutant(
        "rerun-draws-the-curve-again",
        "a re-run with nothing new keeps OUT's curve.png (no matplotlib) when it shows the same",
        "pytfpol/commands/sweep/documents.py",
        "    if not reuse.carry_over(journal, key, out, stage, name):",
        "    if True:",
        (
            "tests/integration/test_sweep_rerun.py::test_a_rerun_with_nothing_new_imports_no_tensorflow_and_writes_the_same",
        ),
    ),
    Mutant(
        "curve-kept-for-other-checkpoints",
        "curve.png is kept only when drawn from the same document (every checkpoint's summary)",
        "pytfpol/commands/sweep/reuse.py",
        '        {k: v for k, v in entry.items() if k not in ("reused", "seconds")}',
        '        {k: v for k, v in entry.items() if k not in ("reused", "seconds", "summary")}',
        (
            "tests/integration/test_sweep_rerun.py::test_the_curve_is_kept_only_for_the_same_document",
        ),
    ),
    Mutant(
        "kept-output-with-a-file-missing",
        "an output of OUT with a file missing is made again, not kept without it",
        "pytfpol/commands/sweep/reuse.py",
        "        for rel, expected in sorted(kept.items()):\n",
        "        for rel, expected in sorted(kept.items()):\n"
        "            if not os.path.lexists(Path(out) / rel):\n                continue\n",
        (
            "tests/integration/test_sweep_rerun.py::test_a_kept_output_is_made_again_when_out_does_not_hold_what_it_recorded",
        ),
    ),
    Mutant(
        "kept-output-of-another-sweep",
        "an output is kept only when OUT holds the very files the journal's marker names",
        "pytfpol/commands/sweep/reuse.py",
        '    if not kept or kept != marker.get("files"):',
        "    if not kept:",
        (
            "tests/integration/test_sweep_rerun.py::test_a_kept_output_is_made_again_when_out_does_not_hold_what_it_recorded",
        ),
    ),
    # --- issue 26: reading, sweeps of few checkpoints, memory (H9) ---
    # (this part's mutants go below)
    Mutant(
        "digest-reads-the-data-file-again",
        "a data file's sha256 is hashed from the bytes validation reads: the file is read once",
        "pytfpol/formats/checkpoint_reader.py",
        "                        _ShardDigest(fd, path, size)\n",
        "                        _Hasher(fd, path, size)\n",
        (
            "tests/integration/test_faults.py::test_the_sha256_is_hashed_from_the_one_read_of_each_data_file",
        ),
    ),
    Mutant(
        "digest-skips-the-bytes-no-tensor-covers",
        "the sha256 hashed from validation's reads is hashlib's of the whole file, gaps included",
        "pytfpol/formats/tensor_data.py",
        "        self._read_gap(offset)\n",
        "        self._covered = max(self._covered, offset)\n",
        (
            "tests/integration/test_faults.py::test_the_sha256_is_hashed_from_the_one_read_of_each_data_file",
        ),
    ),
    Mutant(
        "plots-through-pyplot",
        "pictures are drawn by the Agg canvas without importing pyplot (a lighter import)",
        "pytfpol/results/plots.py",
        '    figure = Figure(figsize=kwargs.pop("figsize", None))\n'
        "    FigureCanvasAgg(figure)\n"
        "    return figure, figure.subplots(*args, **kwargs)\n",
        "    import matplotlib.pyplot as plt\n\n    return plt.subplots(*args, **kwargs)\n",
        (
            "tests/unit/test_plots_without_pyplot.py::test_the_curve_is_drawn_without_importing_pyplot",
        ),
    ),
    # --- issue 26: the loop's own cost, --num-envs 8 (H10) ---
    # (this part's mutants go below)
    Mutant(
        "no-end-fast-path-misses-truncation",
        "a sync step that truncates an episode (and terminates none) reports it truncated",
        "pytfpol/running/stepper.py",
        "    if any(terminated) or any(truncated):",
        "    if any(terminated):",
        (
            "tests/integration/test_loop_fast_paths.py::test_the_stepper_reports_a_truncation_alone",
            "tests/integration/test_loop_fast_paths.py::test_lengths_and_ends_with_a_cap_and_episodes_starting_mid_run",
        ),
    ),
    Mutant(
        "loop-misses-truncation-alone",
        "the loop ends an episode that is truncated alone, at the cap, with its exact length",
        "pytfpol/running/evaluation.py",
        "        if count_nonzero(terminated) or count_nonzero(truncated):",
        "        if count_nonzero(terminated):",
        (
            "tests/integration/test_loop_fast_paths.py::test_lengths_and_ends_with_a_cap_and_episodes_starting_mid_run",
        ),
    ),
    Mutant(
        "lengths-counted-from-the-run-start",
        "an episode's length counts its own steps, whenever its slot starts it",
        "pytfpol/running/evaluation.py",
        "        lane.start[starting] = lane.steps",
        "        lane.start[starting] = 0",
        (
            "tests/integration/test_loop_fast_paths.py::test_lengths_and_ends_with_a_cap_and_episodes_starting_mid_run",
            "tests/integration/test_parallel.py::test_loop_resets_state_per_episode_in_every_group",
        ),
    ),
    Mutant(
        "plain-session-call-drops-the-state",
        "the plain session call carries a recurrent policy's state from step to step",
        "pytfpol/policy/batch_call.py",
        "            out = self._run(time_step + state if state else time_step)",
        "            out = self._run(time_step + self._initial if state else time_step)",
        ("tests/integration/test_parallel.py::test_recurrent_results_equal_each_episode_alone",),
    ),
    # --- issue 27 and 25: the gaps left (H11) ---
    # (this part's mutants go below)
    Mutant(
        "sweep-identity-metric-absent-counts-as-nothing",
        "--metric is part of a sweep's identity: a sweep.json without it measured none",
        "pytfpol/commands/sweep/identity.py",
        'ABSENT_MEANS: dict[str, Any] = {"metrics": []}',
        "ABSENT_MEANS: dict[str, Any] = {}",
        (
            REPLAY_SWEEP
            + "test_a_sweep_with_another_setting_is_refused_naming_it_and_out_is_unchanged",
        ),
    ),
    Mutant(
        "sweep-identity-without-the-config",
        "another --config into the same OUT is another sweep, exit 5 naming it",
        "pytfpol/commands/sweep/identity.py",
        '        "config": _config_name(base.config),',
        '        "config": _config_name(None),',
        (
            REPLAY_SWEEP
            + "test_a_sweep_with_another_setting_is_refused_naming_it_and_out_is_unchanged",
        ),
    ),
    Mutant(
        "network-type-error-without-the-config",
        "a network type the env's action rules out names the --config as given",
        "pytfpol/policy/rebuilt.py",
        '            f"{config_named(config)}: {exc.message}", _usage_hint(config, exc)',
        "            exc.message, _usage_hint(config, exc)",
        (
            "tests/integration/test_messages.py::"
            "test_a_network_type_the_env_rules_out_names_the_config_as_given",
        ),
    ),
    Mutant(
        "network-type-error-without-the-way-out",
        "a network type the env's action rules out: the hint says to leave --config out or "
        "pick a shipped one",
        "pytfpol/policy/rebuilt.py",
        '    return f"{error.hint}; or {checkpoints.OTHER_CONFIG}"',
        "    return error.hint",
        (
            "tests/integration/test_messages.py::"
            "test_a_network_type_the_env_rules_out_names_the_config_as_given",
        ),
    ),
    Mutant(
        "replay-result-without-empty-fields",
        "replay's ReplayResult.as_document() is exactly what replay --json printed (every key)",
        "pytfpol/commands/replay_result.py",
        "        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}",
        "        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)"
        " if getattr(self, f.name) is not None}",
        (REPLAY_SWEEP + "test_the_typed_result_of_replay_is_the_json_it_prints",),
    ),
    Mutant(
        "replay-result-fields-reordered",
        "replay --json prints its keys in the order it did as a dict",
        "pytfpol/commands/replay_result.py",
        "    video: Optional[str]\n    frames: Optional[int]\n",
        "    frames: Optional[int]\n    video: Optional[str]\n",
        (REPLAY_SWEEP + "test_the_typed_result_of_replay_is_the_json_it_prints",),
    ),
    Mutant(
        "watch-waiting-line-every-poll",
        "while --watch waits, a CI log gets a line at most every interval, not one a poll",
        "pytfpol/cli/console.py",
        '        if self._mode == "lines" and time.monotonic() - self._last_line >= self._waiting:',
        '        if self._mode == "lines":',
        (PROGRESS + "test_a_watch_waiting_in_a_log_says_so_at_most_every_interval",),
    ),
    Mutant(
        "watch-waiting-silent",
        "while --watch waits, a CI log is not silent",
        "pytfpol/commands/sweep/watch.py",
        "        state.progress.waiting(list(state.settings.paths), len(state.entries), timeout_left)\n",
        "",
        (PROGRESS + "test_a_watch_waiting_in_a_log_says_so_at_most_every_interval",),
    ),
    Mutant(
        "watch-waiting-line-despite-q",
        "-q silences the waiting lines (as every progress line)",
        "pytfpol/cli/console.py",
        '        self._mode = "off" if quiet else "live" if live else "lines"',
        '        self._mode = "live" if live else "lines"',
        (PROGRESS + "test_a_watch_waiting_in_a_log_says_so_at_most_every_interval",),
    ),
    Mutant(
        "saved-model-step-minus-one-reported",
        "a SavedModel saved without a train_step reports none and writes events at step 0",
        "pytfpol/policy/saved_model.py",
        "    return None if step is None or step < 0 else step",
        "    return step",
        (
            METRICS
            + "test_a_saved_model_without_a_train_step_reports_none_and_writes_events_at_step_0",
        ),
    ),
    Mutant(
        "sweep-metric-gate-on-the-sweeps-own-episodes",
        "a sweep's gate on a --metric statistic judges the best's fresh-seed re-evaluation",
        "pytfpol/commands/sweep/documents.py",
        '    judged = (overall or {}).get("confirmation") or',
        "    judged = None or",
        (METRICS + "test_a_sweep_gate_on_a_metric_statistic_judges_the_best_on_fresh_seeds",),
    ),
    Mutant(
        "inspect-train-step-minus-one-unexplained",
        "inspect says what a SavedModel's stored train step -1 means (none)",
        "pytfpol/cli/inspect_tables.py",
        "    if step == -1:\n",
        "    if step == -2:\n",
        (
            METRICS
            + "test_a_saved_model_without_a_train_step_reports_none_and_writes_events_at_step_0",
        ),
    ),
    # --- issue 26: curve.png in a child process (P1) ---
    Mutant(
        "plot-child-answers-a-stale-picture",
        "the plot child answers the PNG of the document it was sent, for every request",
        "pytfpol/results/plot_process.py",
        "            png = plots.curve_png(json.loads(requests.read(size)))",
        "            png = plots.curve_png(WARM_UP if requests.read(size) else {})",
        (
            "tests/integration/test_plot_process.py::"
            "test_the_child_writes_the_bytes_drawn_in_process_for_every_request",
        ),
    ),
    Mutant(
        "plot-child-failure-not-drawn-here",
        "any failure of the plot child: curve.png drawn in-process, the same bytes",
        "pytfpol/results/plot_process.py",
        "        if png is None:\n            plots.write_curve_plot(document, path)",
        "        if png is None:\n            return",
        (
            "tests/integration/test_plot_process.py::"
            "test_any_failure_of_the_child_is_drawn_here_the_same_and_the_child_reaped",
        ),
    ),
    Mutant(
        "plot-child-garbage-written",
        "what the plot child answers is written only if it is a PNG",
        "pytfpol/results/plot_process.py",
        "            if not png.startswith(PNG_SIGNATURE):",
        "            if False:",
        (
            "tests/integration/test_plot_process.py::"
            "test_any_failure_of_the_child_is_drawn_here_the_same_and_the_child_reaped",
        ),
    ),
    Mutant(
        "plot-child-imports-tensorflow",
        "the plot child imports no TensorFlow",
        "pytfpol/results/plot_process.py",
        '"plot_process.serve()"',
        '"import tensorflow; plot_process.serve()"',
        ("tests/integration/test_plot_process.py::test_the_child_imports_no_tensorflow",),
    ),
    Mutant(
        "plot-child-working-directory-on-path",
        "the plot child runs this pytfpol and nothing from the working directory (-P)",
        "pytfpol/results/plot_process.py",
        '[sys.executable, "-P", "-c", BOOT, root]',
        '[sys.executable, "-c", BOOT, root]',
        (
            "tests/integration/test_plot_process.py::"
            "test_the_child_runs_this_pytfpol_and_nothing_from_the_working_directory",
        ),
    ),
    Mutant(
        "plot-child-not-reaped",
        "the plot child is ended and reaped however the sweep ends",
        "pytfpol/commands/sweep/__init__.py",
        "for runner in [state.plotter, *state.runners, state.remote]:",
        "for runner in [*state.runners, state.remote]:",
        (
            "tests/integration/test_plot_process.py::"
            "test_the_child_is_reaped_however_the_sweep_ends",
        ),
    ),
    Mutant(
        "plot-child-not-used-by-the-sweep",
        "a sweep that evaluates draws curve.png in the child (its own process imports no matplotlib)",
        "pytfpol/commands/sweep/documents.py",
        "    draw = plots.write_curve_plot if plotter is None else plotter.write_curve_plot",
        "    draw = plots.write_curve_plot",
        (
            "tests/integration/test_plot_process.py::"
            "test_a_sweep_draws_its_curve_in_the_child_and_a_rerun_starts_none",
        ),
    ),
    Mutant(
        "plot-child-started-on-a-rerun",
        "a re-run answered from the journal starts no plot child (keeps OUT's curve.png)",
        "pytfpol/commands/sweep/scheduler.py",
        '    reused = state.journal.get(entry["key"])\n',
        '    state.start_plotter()\n    reused = state.journal.get(entry["key"])\n',
        (
            "tests/integration/test_plot_process.py::"
            "test_a_sweep_draws_its_curve_in_the_child_and_a_rerun_starts_none",
        ),
    ),
    Mutant(
        "plot-child-killed-by-ctrl-c",
        "Ctrl-C to the process group does not kill the plot child (the sweep decides)",
        "pytfpol/results/plot_process.py",
        '"import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); import os, sys; os.nice(10); "',
        '"import os, sys; os.nice(10); "',
        (
            "tests/integration/test_plot_process.py::"
            "test_a_watch_stopped_by_a_real_signal_leaves_no_child",
        ),
    ),
    Mutant(
        "plot-child-without-a-spare-core",
        "a plot child is started only with a core to spare (or PYTFPOL_PLOT_PROCESS=1)",
        "pytfpol/results/plot_process.py",
        "    return cpus >= 2 and load < cpus - 0.5",
        "    return cpus >= 1 and load < cpus - 0.5",
        (
            "tests/integration/test_plot_process.py::test_a_child_is_started_only_when_a_core_is_spare_unless_told",
        ),
    ),
    # --- issue 26: output checkpoints without TensorFlow's saver, start-up memory (lead) ---
    Mutant(
        "checkpoint-large-variable-fetched-whole",
        "a variable over FETCH_BYTES is read a block of rows at a time, never whole",
        "pytfpol/policy/checkpoint_tensors.py",
        "    large = {k: t for k, t in to_read.items() if _nbytes(t) > FETCH_BYTES and t.shape.rank}\n",
        "    large: dict = {}\n",
        (BUNDLE_W + "test_variables_are_read_in_runs_of_bounded_size",),
    ),
    Mutant(
        "bundle-writer-blocks-checksum-restarts",
        "a tensor written in blocks has one checksum over all of them",
        "pytfpol/formats/bundle_writer.py",
        "        array = np.ascontiguousarray(block)\n",
        "        array = np.ascontiguousarray(block)\n        crc = 0\n",
        (BUNDLE_W + "test_variables_are_read_in_runs_of_bounded_size",),
    ),
    Mutant(
        "bundle-writer-entry-crc-unmasked",
        "a written tensor's checksum is stored masked, as TensorFlow reads it",
        "pytfpol/formats/bundle_writer.py",
        '    return proto + _varint(6 << 3 | 5) + mask_crc(crc).to_bytes(4, "little")\n',
        '    return proto + _varint(6 << 3 | 5) + crc.to_bytes(4, "little")\n',
        (BUNDLE_W + "test_a_bundle_of_every_dtype_reads_back_in_tensorflow_and_in_pytfpol",),
    ),
    Mutant(
        "bundle-writer-string-lengths-checksum",
        "a string tensor's lengths carry their checksum",
        "pytfpol/formats/bundle_writer.py",
        '    checksum = mask_crc(lengths_crc).to_bytes(4, "little")\n',
        '    checksum = mask_crc(lengths_crc ^ 1).to_bytes(4, "little")\n',
        (BUNDLE_W + "test_a_bundle_of_every_dtype_reads_back_in_tensorflow_and_in_pytfpol",),
    ),
    Mutant(
        "bundle-writer-block-trailer-checksum",
        "each table block's trailer checksums the block and its type byte",
        "pytfpol/formats/bundle_writer.py",
        '    out += trailer + mask_crc(crc32c(bytes(contents) + trailer)).to_bytes(4, "little")\n',
        '    out += trailer + mask_crc(crc32c(bytes(contents))).to_bytes(4, "little")\n',
        (BUNDLE_W + "test_a_bundle_of_every_dtype_reads_back_in_tensorflow_and_in_pytfpol",),
    ),
    Mutant(
        "bundle-writer-replaces-and-follows",
        "checkpoint files are created new, never through a symlink, never over a file",
        "pytfpol/formats/bundle_writer.py",
        "    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC\n",
        "    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC\n",
        (BUNDLE_W + "test_the_writer_replaces_nothing_and_follows_no_symlink",),
    ),
    Mutant(
        "bundle-writer-index-first-key",
        "each index entry names its data block's last key, so lookups find every key",
        "pytfpol/formats/bundle_writer.py",
        "            index.append((key, _add_block(out, block)))\n",
        "            index.append((block[0][0], _add_block(out, block)))\n",
        (BUNDLE_W + "test_a_bundle_of_every_dtype_reads_back_in_tensorflow_and_in_pytfpol",),
    ),
    Mutant(
        "checkpoint-written-with-tensorflows-saver",
        "output checkpoints are written without TensorFlow's saver (no save op in the policy's graph)",
        "pytfpol/policy/checkpoints.py",
        "                tensors = checkpoint_tensors.checkpoint_tensors(session, checkpoint)\n",
        '                raise checkpoint_tensors.NeedsSaver("mutant")\n',
        (
            BUNDLE_W
            + "test_a_checkpoint_is_written_without_tensorflows_saver_and_restores_in_tensorflow",
        ),
    ),
    Mutant(
        "checkpoint-save-counter-one",
        "a written checkpoint's save_counter is 0, as write() leaves it",
        "pytfpol/policy/checkpoint_tensors.py",
        "                written.append(TensorToWrite(key, dtype_enum, np.zeros((), np.int64)))\n",
        "                written.append(TensorToWrite(key, dtype_enum, np.ones((), np.int64)))\n",
        (
            BUNDLE_W
            + "test_a_checkpoint_is_written_without_tensorflows_saver_and_restores_in_tensorflow",
        ),
    ),
    Mutant(
        "checkpoint-slices-not-left-to-saver",
        "a variable saved as slices goes to TensorFlow's saver",
        "pytfpol/policy/checkpoint_tensors.py",
        "    if not isinstance(value, tf.Tensor):\n        raise NeedsSaver(",
        "    if False:\n        raise NeedsSaver(",
        (BUNDLE_W + "test_a_sharded_variable_is_left_to_tensorflows_saver_and_restores",),
    ),
    Mutant(
        "checkpoint-fetch-unbounded",
        "variables are copied out of the session in groups of at most FETCH_BYTES",
        "pytfpol/policy/checkpoint_tensors.py",
        "        if not groups or size + nbytes > FETCH_BYTES:\n",
        "        if not groups:\n",
        (BUNDLE_W + "test_variables_are_read_in_runs_of_bounded_size",),
    ),
    Mutant(
        "pandas-not-deferred",
        "pandas, imported by Keras, is loaded only when used",
        "pytfpol/policy/deferred_modules.py",
        'DEFERRED = ("pandas",)\n',
        "DEFERRED: tuple = ()\n",
        (DEFERRED + "test_an_evaluation_never_loads_pandas_and_pandas_works_after_it",),
    ),
    Mutant(
        "deferred-module-loaded-at-once",
        "a deferred module's loader is lazy",
        "pytfpol/policy/deferred_modules.py",
        "        spec.loader = importlib.util.LazyLoader(spec.loader)\n",
        "",
        (DEFERRED + "test_an_evaluation_never_loads_pandas_and_pandas_works_after_it",),
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
        mutated = text.replace(mutant.old, mutant.new)
        if target.suffix == ".py":
            try:  # a mutant that does not compile would be "killed" for the wrong reason
                compile(mutated, mutant.file, "exec")
            except SyntaxError as exc:
                return (
                    "NOT APPLIED",
                    0.0,
                    f"{mutant.file}: the mutated code does not compile ({exc})",
                )
        target.write_text(mutated)
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
