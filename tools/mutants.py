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
METRICS = "tests/integration/test_metrics.py::"
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
        "pytfpol/running/evaluation.py",
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
        '  # wrappers and all: another env re-runs\n            "episodes": base.episodes,\n',
        "  # wrappers and all: another env re-runs\n",
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
        '        seed=record["seed"],',
        '        seed=record["seed"] + 1,',
        (REC + "test_replay_reproduces_an_episode_of_a_num_envs_8_run",),
    ),
    Mutant(
        "replay-mismatch-ignored",
        "a replay whose return or length differs is exit 4 naming both",
        "pytfpol/commands/replay.py",
        '    identical = all(replayed[f] == record[f] for f in ("return", "length"))',
        "    identical = True",
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
        "        except tf.errors.OpError as exc:",
        "        except OSError as exc:",
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
        "        _check_rewards(lane, active, reward, self.seed)\n",
        "",
        (NONFINITE + "test_a_non_finite_reward_in_any_row_is_exit_4",),
    ),
    Mutant(
        "nonfinite-reward-first-row-only",
        "a NaN/inf reward in any row of a vectorised run stops it (not only row 0)",
        "pytfpol/running/evaluation.py",
        "    if math.isfinite(np.add.reduce(reward)):",
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
        "        _check_return(lane, row, self.seed)\n",
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
        '            "seed": base.seed,\n            "stochastic": base.stochastic,',
        '            "stochastic": base.stochastic,',
        (PROMISES + "test_the_journal_key_changes_with_everything_the_result_depends_on",),
    ),
    Mutant(
        "journal-key-without-env-kwargs",
        "the sweep journal key depends on the env's kwargs",
        "pytfpol/commands/sweep/journal_key.py",
        '            "kwargs": dict(base.env_kwargs),\n',
        "",
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
        '            "seed": base.seed,\n            "stochastic": base.stochastic,',
        '            "seed": base.seed,\n            "stochastic": base.stochastic,\n'
        '            "num_envs": base.num_envs_used,',
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
        "pytfpol/results/documents.py",
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
        "pytfpol/results/documents.py",
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
        "pytfpol/results/documents.py",
        "        keys = self.order or tuple(k for k, _, _ in self.SCHEMA)",
        "        keys = tuple(k for k, _, _ in self.SCHEMA)",
        (DOC + "test_a_report_of_an_older_shape_is_read_and_written_back_unchanged",),
    ),
    Mutant(
        "junit-sweep-taken-for-eval",
        "25.3: JUnit is a view of the document's type: a sweep's report is a sweep suite",
        "pytfpol/results/documents.py",
        '    if report.get("kind") == SWEEP_KIND:\n        return SweepReport',
        "    if False:\n        return SweepReport",
        (DOC + "test_junit_is_a_view_of_the_document_type_not_a_guess",),
    ),
    Mutant(
        "compare-reads-unvalidated",
        "25.3: compare reads stats.json through the one validating reader",
        "pytfpol/commands/compare.py",
        "    report = documents.read_eval_report(file).to_dict()",
        "    report = json.loads(file.read_text())",
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
        "from pytfpol.policy.quiet_tf import heavy_imports\nfrom pytfpol.running import runners\n",
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
    # --- issue 25/27: typed results and Markdown summaries (25.1/25.3, 27.4) (H2) ---
    # (this part's mutants go below)
    # --- issue 27: the GitHub Action (item 3) (H3) ---
    # (this part's mutants go below)
    # --- issue 27: replay of any checkpoint, a different sweep into OUT (items 6, 8) (H4) ---
    # (this part's mutants go below)
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
        "pytfpol/results/documents.py",
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
        "                if base.metrics\n",
        "                if False\n",
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
    # --- issue 26: the stepping loop, reading, start-up (rows num-envs, 400 MB, start-up) (H7) ---
    # (this part's mutants go below)
    # --- issue 26: re-runs without TensorFlow, small sweeps, Ray units (H8) ---
    # (this part's mutants go below)
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
