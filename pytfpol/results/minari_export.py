"""`eval --dataset NAME`: the evaluated episodes as a Minari dataset (Farama's offline-RL format).

One Minari episode per pytfpol episode, in index order (Minari episode id i = pytfpol episode i),
with its reset seed in Minari's episode metadata (`seed`), its T+1 observations, T actions,
rewards, terminations and truncations, read from the trajectory files the run wrote. The
dataset goes where Minari keeps local datasets (`MINARI_DATASETS_PATH`, default
`~/.minari/datasets`), and `minari.load_dataset(NAME)` reads it back.

`minari[hdf5]==0.5.3` is the last release for numpy < 2: the optional extra `pytfpol[minari]`.
Minari is imported only here, only with --dataset. No TensorFlow.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional

from pytfpol.errors import OutputError, UsageError, first_line
from pytfpol.running.trajectories import nest_like, read_npz

INSTALL_HINT = "install it with: pip install 'pytfpol[minari]' (minari[hdf5]==0.5.3)"


def _minari():
    try:
        import minari
    except ImportError as exc:
        raise UsageError(
            f"--dataset needs Minari, which is not installed ({exc})", INSTALL_HINT
        ) from exc
    return minari


def check(dataset_id: str) -> Path:
    """Before any episode: Minari is installed, NAME is a valid dataset id that does not exist
    yet (exit 2 / exit 5). Returns where the dataset will be written."""
    _minari()
    from minari.dataset.minari_dataset import parse_dataset_id
    from minari.storage.datasets_root_dir import get_dataset_path

    try:
        parse_dataset_id(dataset_id)
    except ValueError:
        raise UsageError(
            f"--dataset {dataset_id!r}: not a Minari dataset id",
            "use (namespace/)name-v<version>, e.g. cartpole/dqn-eval-v0",
        ) from None
    path = Path(get_dataset_path(dataset_id))
    if path.exists():
        raise OutputError(
            f"--dataset {dataset_id}: a Minari dataset with this id exists already ({path})",
            "choose another name or version, or delete it with minari.delete_dataset",
            path=path,
        )
    return path


def export(
    dataset_id: str,
    trajectory_files: Iterable[Path],
    observation_space: Any,
    action_space: Any,
    env: Any = None,
    description: Optional[str] = None,
) -> dict:
    """Write the trajectories (in the order given) as Minari dataset `dataset_id`.

    `env` (a made Gymnasium env) gives Minari the env spec to recover the environment from;
    an env Minari cannot serialise (e.g. registered with a class, not a string) is left out,
    the spaces are kept. Returns {"id", "path", "episodes"}."""
    minari = _minari()
    from minari.data_collector import EpisodeBuffer

    path = check(dataset_id)
    files = list(trajectory_files)

    def buffers():
        for file in files:
            trajectory = read_npz(file)
            yield EpisodeBuffer(
                seed=trajectory.seed,
                observations=nest_like(observation_space, trajectory.observations, "observations"),
                actions=nest_like(action_space, trajectory.actions, "actions"),
                rewards=trajectory.rewards,
                terminations=trajectory.terminated,
                truncations=trajectory.truncated,
            )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari's "code_permalink is None", etc.
            minari.create_dataset_from_buffers(
                dataset_id,
                buffers(),
                env=_serialisable_env(env),
                observation_space=observation_space,
                action_space=action_space,
                algorithm_name="pytfpol eval",
                description=description,
            )
    except Exception as exc:  # noqa: BLE001 - h5py and Minari raise many types
        shutil.rmtree(path, ignore_errors=True)
        raise OutputError(
            f"--dataset {dataset_id}: writing the Minari dataset failed ({first_line(exc)})",
            f"check free space and permissions of {path.parent}",
            path=path,
        ) from exc
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return {"id": dataset_id, "path": str(path), "episodes": len(files)}


def _serialisable_env(env: Any) -> Any:
    spec = getattr(env, "spec", None)
    if spec is None:
        return None
    try:
        spec.to_json()
    except Exception:  # noqa: BLE001 - a callable entry point, unserialisable kwargs
        return None
    return env
