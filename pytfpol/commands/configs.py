"""`pytfpol configs`: the policy configs shipped with pytfpol (names `--config` accepts) and
what each rebuilds. No TensorFlow."""

from __future__ import annotations

from typing import TypedDict

from pytfpol.policy.policy_config import SHIPPED_CONFIGS_DIR, describe_shipped


class ShippedConfig(TypedDict):
    """One shipped config: its `--config` name, file, description, the network it builds and
    how the policy is saved (or "read from the checkpoint")."""

    name: str
    path: str
    description: str
    architecture: str
    saved_as: str


class ConfigsResult(TypedDict):
    """`pytfpol configs --json`: the directory of the shipped configs and each of them."""

    dir: str
    configs: list[ShippedConfig]


def configs() -> ConfigsResult:
    """The shipped policy configs (`pytfpol configs`), as plain data."""
    shipped = [
        ShippedConfig(
            name=row["name"],
            path=row["path"],
            description=row["description"],
            architecture=row["architecture"],
            saved_as=row["saved_as"],
        )
        for row in describe_shipped()
    ]
    return ConfigsResult(dir=str(SHIPPED_CONFIGS_DIR), configs=shipped)
