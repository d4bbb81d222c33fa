"""What pytfpol's TensorBoard event files hold, read back by TensorBoard itself."""

from __future__ import annotations

from pathlib import Path


def tensorboard_scalars(logdir: Path) -> dict:
    """{tag: [(step, value), ...]} of the event files in `logdir`; for the returns histogram
    (`Metrics/Returns`) only the steps it was written at."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    accumulator = EventAccumulator(str(logdir))
    accumulator.Reload()
    found = {}
    for tag in accumulator.Tags()["tensors"]:
        events = accumulator.Tensors(tag)
        if tag == "Metrics/Returns":
            found[tag] = [event.step for event in events]
            continue
        found[tag] = [
            (event.step, float(tensor_util.make_ndarray(event.tensor_proto))) for event in events
        ]
    return found
