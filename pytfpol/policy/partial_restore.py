"""Say in words what a partial restore leaves out (`--allow-partial`).

A list of checkpoint keys does not tell a user whether the run still means anything: a missing
optimizer counter does not change one action, a missing observation normalizer changes all of
them. Each kind of left-over variable gets one sentence with its consequence. Pure Python.
"""

from __future__ import annotations

VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"

# (marker inside a policy key, what is lost, what it means for the evaluation)
_POLICY_PARTS = (
    (
        "/_observation_normalizer/",
        "observation normalizer not restored",
        "actions will differ from training (the policy sees raw observations)",
    ),
    (
        "/_value_network/",
        "value network not restored",
        "no effect on actions (PPO's value network does not choose them)",
    ),
)


def describe_unmatched(keys: list[str], policy_key: str = "policy") -> list[str]:
    """One sentence per kind of checkpoint variable that was not restored."""
    groups: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        groups.setdefault(_kind(key, policy_key), []).append(key)
    return [
        f"{what}: {meaning} ({_examples(members)})" for (what, meaning), members in groups.items()
    ]


def _kind(key: str, policy_key: str) -> tuple[str, str]:
    if key.startswith(policy_key + "/"):
        for marker, what, meaning in _POLICY_PARTS:
            if marker in key:
                return what, meaning
        return (
            "part of the policy not restored",
            "actions will differ from training (the rebuilt policy has no such variables)",
        )
    return "variables outside the policy not restored", "not needed to choose actions"


def _examples(keys: list[str], shown: int = 3) -> str:
    names = [k[: -len(VALUE_SUFFIX)] if k.endswith(VALUE_SUFFIX) else k for k in keys]
    more = f", ... {len(names) - shown} more" if len(names) > shown else ""
    count = f"{len(names)} variable{'s' if len(names) != 1 else ''}"
    return f"{count}: {', '.join(names[:shown])}{more}"
