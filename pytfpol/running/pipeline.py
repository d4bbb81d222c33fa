"""Policy calls overlapped with environment steps: the loop's groups of slots take turns.

The evaluation loop (`pytfpol.running.evaluation`) can split its slots into groups, each computed
by one policy call. With one group, the loop calls the policy, then steps every environment, and
the two never overlap. With two or more, a worker thread makes the policy calls, one group at a
time in the order they were asked for, while the loop steps the environments of the group whose
actions came back first: `session.run` releases the GIL, so TensorFlow computes one group's
actions on one core while Python steps another group's environments on the other.

An episode's trajectory depends only on its own actions, and a row's action does not depend on
the rows computed beside it (`pytfpol.policy.invariance`), so which group runs an episode and when
changes nothing in its result.
"""

from __future__ import annotations

import collections
import queue
import threading
from typing import Any, Callable


class Calls:
    """Policy calls answered in the order they were asked for: `submit(tag, *args)`, then
    `next()` returns (tag, result) of the oldest call not yet taken. `threaded=False` makes each
    call when it is taken (no thread, no overlap)."""

    def __init__(self, call: Callable[..., Any], threaded: bool) -> None:
        self._call = call
        self._tags: collections.deque = collections.deque()
        self._inline: collections.deque = collections.deque()
        self._thread = None
        if threaded:
            self._requests: queue.SimpleQueue = queue.SimpleQueue()
            self._replies: queue.SimpleQueue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._work, name="pytfpol-policy", daemon=True)
            self._thread.start()

    def __len__(self) -> int:
        return len(self._tags)

    def submit(self, tag: Any, *args: Any) -> None:
        self._tags.append(tag)
        if self._thread is None:
            self._inline.append(args)
        else:
            self._requests.put(args)

    def next(self) -> tuple[Any, Any]:
        """The oldest pending call's tag and result (its exception is raised here)."""
        tag = self._tags.popleft()
        if self._thread is None:
            return tag, self._call(*self._inline.popleft())
        failed, value = self._replies.get()
        if failed:
            raise value
        return tag, value

    def _work(self) -> None:
        while True:
            args = self._requests.get()
            if args is None:
                return
            try:
                self._replies.put((False, self._call(*args)))
            except BaseException as exc:  # noqa: BLE001 - handed to the loop's thread
                self._replies.put((True, exc))

    def close(self) -> None:
        """Wait for the call in progress, if any, and stop the worker (the session may be closed
        next)."""
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join()
            self._thread = None
        self._tags.clear()
        self._inline.clear()
