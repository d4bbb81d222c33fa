"""Rebuild a TF-Agents policy from a `PolicyConfig`, in the current graph, as it was saved.

The structure matters as much as the sizes: a checkpoint restores only into the object structure
it was saved from (`GreedyPolicy(QPolicy(...))` keeps its keys under `policy/_wrapped_policy/`).
`build_saved_policy` returns that structure; `evaluation_policy` wraps it for greedy evaluation.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import tensorflow as tf
from tf_agents.agents.ddpg import actor_network, actor_rnn_network
from tf_agents.agents.ppo import ppo_policy
from tf_agents.networks import (
    actor_distribution_network,
    actor_distribution_rnn_network,
    categorical_q_network,
    q_network,
    q_rnn_network,
    sequential,
    value_network,
    value_rnn_network,
)
from tf_agents.policies import (
    actor_policy,
    categorical_q_policy,
    greedy_policy,
    q_policy,
    tf_policy,
)
from tf_agents.utils import common, tensor_normalizer

from pytfpol.errors import InputError, UsageError
from pytfpol.policy.policy_config import FACTORY_HINT, NetworkConfig, PolicyConfig


def build_saved_policy(config: PolicyConfig, time_step_spec, action_spec) -> tf_policy.TFPolicy:
    """The TF policy with the object structure the checkpoint was saved from.

    `config.saved_as` and `config.observation_normalizer` must be decided by now (inference
    reads them off the checkpoint when the config leaves them out)."""
    if config.factory:
        return _from_factory(config.factory, config.path, time_step_spec, action_spec)
    observation_spec, splitter = _split_mask(config, time_step_spec.observation)
    layout = config.required_network
    network = build_network(layout, observation_spec, action_spec)
    masked = {"observation_and_action_constraint_splitter": splitter} if splitter else {}
    if config.is_ppo and splitter:
        raise UsageError(
            f"{config.path}: an action mask ([policy] mask_key) with a PPO policy: pytfpol "
            "rebuilds masks for Q and actor policies only",
            FACTORY_HINT,
        )
    if config.value_network is not None:
        # What PPOAgent builds as `agent.policy` (before its GreedyPolicy wrapper).
        normalizer = None
        if config.observation_normalizer:
            normalizer = tensor_normalizer.StreamingTensorNormalizer(
                observation_spec, scope="normalize_observations"
            )
        policy = ppo_policy.PPOPolicy(
            time_step_spec,
            action_spec,
            actor_network=network,
            value_network=build_network(config.value_network, observation_spec, None),
            observation_normalizer=normalizer,
            clip=False,
            collect=False,
        )
    elif layout.type == "categorical_q_network":
        policy = categorical_q_policy.CategoricalQPolicy(
            time_step_spec,
            action_spec,
            network,
            min_q_value=layout.min_q_value,
            max_q_value=layout.max_q_value,
            **masked,
        )
    elif layout.is_q:
        policy = q_policy.QPolicy(time_step_spec, action_spec, network, **masked)
    else:
        policy = actor_policy.ActorPolicy(time_step_spec, action_spec, network, **masked)
    if config.saved_as not in ("greedy", "plain"):  # pragma: no cover - resolved by the loader
        raise AssertionError(f"saved_as undecided: {config.saved_as!r}")
    return greedy_policy.GreedyPolicy(policy) if config.saved_as == "greedy" else policy


def _split_mask(config: PolicyConfig, observation_spec):
    """The spec the network sees, and TF-Agents' `observation_and_action_constraint_splitter`
    for a config with an action mask (else None)."""
    if not config.mask_key:
        return observation_spec, None
    keys = (config.observation_key, config.mask_key)
    if not isinstance(observation_spec, dict) or not all(k in observation_spec for k in keys):
        found = list(observation_spec) if isinstance(observation_spec, dict) else "not a Dict"
        raise UsageError(
            f"{config.path}: [policy] observation_key {keys[0]!r} and mask_key {keys[1]!r} name "
            f"keys of a Dict observation, but the env's observation is {found}",
            "name the env's keys in [policy], or check --env",
        )

    def splitter(observation):
        return observation[keys[0]], observation[keys[1]]

    return observation_spec[keys[0]], splitter


def evaluation_policy(saved: tf_policy.TFPolicy, stochastic: bool) -> tf_policy.TFPolicy:
    """Greedy unless asked otherwise: a Q policy samples from a softmax unless wrapped."""
    if stochastic:
        return saved.wrapped_policy if isinstance(saved, greedy_policy.GreedyPolicy) else saved
    return (
        saved
        if isinstance(saved, greedy_policy.GreedyPolicy)
        else greedy_policy.GreedyPolicy(saved)
    )


def build_network(config: NetworkConfig, observation_spec, action_spec):
    """The TF-Agents network `config` names, its variables created (action_spec is None for
    value networks)."""
    activation = _activation(config.activation)
    kind = config.type
    if kind == "sequential":
        return _sequential_q_network(config, observation_spec, action_spec, activation)
    if kind == "sequential_rnn":
        return _sequential_rnn_q_network(config, observation_spec, action_spec, activation)
    if kind == "sequential_actor":
        return _sequential_actor_network(config, observation_spec, action_spec, activation)
    network = _library_network(config, observation_spec, action_spec, activation)
    network.create_variables(observation_spec)
    return network


def _library_network(config: NetworkConfig, observation_spec, action_spec, activation):
    """One of TF-Agents' own network classes, as `config` describes it."""
    fc = config.fc_layer_params or None
    rnn = {
        "input_fc_layer_params": config.input_fc_layer_params or None,
        "lstm_size": config.lstm_size,
        "output_fc_layer_params": config.output_fc_layer_params or None,
        "activation_fn": activation,
    }
    encoding = {"conv_layer_params": config.conv_layer_params or None}
    scaling = _pixel_scaling(config.pixel_scaling)
    if scaling is not None:
        encoding["preprocessing_layers"] = scaling
    kind = config.type
    if kind == "q_network":
        network = q_network.QNetwork(
            observation_spec, action_spec, fc_layer_params=fc, activation_fn=activation, **encoding
        )
    elif kind == "categorical_q_network":
        network = categorical_q_network.CategoricalQNetwork(
            observation_spec,
            action_spec,
            num_atoms=config.num_atoms,
            fc_layer_params=fc,
            activation_fn=activation,
            **encoding,
        )
    elif kind == "q_rnn_network":
        network = q_rnn_network.QRnnNetwork(observation_spec, action_spec, **rnn)
    elif kind == "actor_network":
        network = actor_network.ActorNetwork(
            observation_spec, action_spec, fc_layer_params=fc, activation_fn=activation
        )
    elif kind == "actor_rnn_network":
        network = actor_rnn_network.ActorRnnNetwork(observation_spec, action_spec, **rnn)
    elif kind == "actor_distribution_network":
        network = actor_distribution_network.ActorDistributionNetwork(
            observation_spec,
            action_spec,
            fc_layer_params=fc,
            activation_fn=activation,
            **encoding,
            **_projection(config),
        )
    elif kind == "actor_distribution_rnn_network":
        network = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
            observation_spec, action_spec, **rnn, **_projection(config)
        )
    elif kind == "value_network":
        network = value_network.ValueNetwork(
            observation_spec, fc_layer_params=fc, activation_fn=activation, **encoding
        )
    elif kind == "value_rnn_network":
        network = value_rnn_network.ValueRnnNetwork(observation_spec, **rnn)
    else:  # pragma: no cover - the config layer validates the type
        raise UsageError(f"unknown network type {kind!r}", "")
    return network


def _sequential_q_network(config: NetworkConfig, observation_spec, action_spec, activation):
    """The network of TF-Agents' DQN v2 `train_eval`: Dense layers, then one Q value per action;
    with mnih15's Atari network before them: [a pixel-scaling layer], Conv2D layers, Flatten."""
    num_actions = _num_actions(config, action_spec)
    scaling = _pixel_scaling(config.pixel_scaling)
    layers = [scaling] if scaling is not None else []
    layers += [
        tf.keras.layers.Conv2D(filters, kernel, stride, activation=activation)
        for filters, kernel, stride in config.conv_layer_params
    ]
    if config.conv_layer_params:
        layers.append(tf.keras.layers.Flatten())
    layers += [tf.keras.layers.Dense(n, activation=activation) for n in config.fc_layer_params]
    layers.append(tf.keras.layers.Dense(num_actions, activation=None))
    network = sequential.Sequential(layers, input_spec=observation_spec)
    network.create_variables(observation_spec)
    return network


def _pixel_scaling(scaling):
    """The preprocessing layer that turns an integer image into floats, as the training script
    built it (None: the observation is fed as it is)."""
    if scaling in (None, "none"):
        return None
    if scaling == "cast":
        return tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32))
    return tf.keras.layers.Lambda(lambda x: tf.cast(x, tf.float32) / 255.0)


def _sequential_rnn_q_network(config: NetworkConfig, observation_spec, action_spec, activation):
    """DQN v2 `train_eval`'s `create_recurrent_network` (train_sequence_length > 1): Dense
    layers, DynamicUnroll(StackedRNNCells([LSTMCell, ...])), Dense layers, the logits."""
    from tf_agents.keras_layers import dynamic_unroll_layer

    num_actions = _num_actions(config, action_spec)
    cells = [tf.keras.layers.LSTMCell(size, implementation=2) for size in config.lstm_size]
    layers = [tf.keras.layers.Dense(n, activation=activation) for n in config.input_fc_layer_params]
    layers.append(dynamic_unroll_layer.DynamicUnroll(tf.keras.layers.StackedRNNCells(cells)))
    layers += [
        tf.keras.layers.Dense(n, activation=activation) for n in config.output_fc_layer_params
    ]
    layers.append(tf.keras.layers.Dense(num_actions, activation=None))
    network = sequential.Sequential(layers, input_spec=observation_spec)
    network.create_variables(observation_spec)
    return network


def _num_actions(config: NetworkConfig, action_spec) -> int:
    if action_spec.shape.rank != 0:
        raise UsageError(
            f"network.type {config.type} builds a Q network: the env needs a scalar discrete "
            "action",
            "use an actor network type for this environment",
        )
    return int(action_spec.maximum) - int(action_spec.minimum) + 1


def _sequential_actor_network(config: NetworkConfig, observation_spec, action_spec, activation):
    """DDPG v2 `train_eval`'s `create_actor_network`: Dense layers, then one Dense(tanh) unit per
    action element, scaled to the action spec's bounds."""
    flat_specs = tf.nest.flatten(action_spec)
    if len(flat_specs) != 1 or not flat_specs[0].dtype.is_floating:
        raise UsageError(
            "network.type sequential_actor (DDPG v2) needs a single continuous action",
            "use a Q network type for a discrete action",
        )
    spec = flat_specs[0]
    layers = [tf.keras.layers.Dense(n, activation=activation) for n in config.fc_layer_params]
    layers.append(
        tf.keras.layers.Dense(spec.shape.num_elements(), activation=tf.keras.activations.tanh)
    )
    layers.append(tf.keras.layers.Lambda(lambda x: common.scale_to_spec(x, spec)))
    network = sequential.Sequential(layers, input_spec=observation_spec)
    network.create_variables(observation_spec)
    return network


def _projection(config: NetworkConfig) -> dict:
    if config.continuous_projection is None:  # pragma: no cover - resolved by the loader
        raise AssertionError("continuous_projection undecided")
    if config.continuous_projection == "tanh_normal":
        from tf_agents.agents.sac import tanh_normal_projection_network

        return {
            "continuous_projection_net": (
                tanh_normal_projection_network.TanhNormalProjectionNetwork
            )
        }
    return {}


def _activation(name: str):
    return None if name == "linear" else tf.keras.activations.get(name)


def _from_factory(factory: str, path: str, time_step_spec, action_spec):
    module_name, _, function_name = factory.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise UsageError(
            f"{path}: factory {factory}: cannot import it ({exc})",
            "check the module is importable (on PYTHONPATH) and defines the function",
        ) from exc
    policy: Any = function(time_step_spec, action_spec)
    if not isinstance(policy, tf_policy.TFPolicy):
        raise InputError(
            f"{path}: factory {factory} returned {type(policy).__name__}, not a TF-Agents TFPolicy",
            "return the policy object exactly as it was passed to the Checkpointer",
        )
    return policy


class ObservationNormalizingPolicy(tf_policy.TFPolicy):
    """Applies saved observation statistics in the graph before the wrapped policy sees them:
    `clip((obs - mean) * scale)`, scale = 1 / sqrt(variance + epsilon). The statistics are
    variables, set with `set_statistics` for each checkpoint restored into the graph."""

    def __init__(self, wrapped, clip) -> None:
        super().__init__(
            wrapped.time_step_spec,
            wrapped.action_spec,
            policy_state_spec=wrapped.policy_state_spec,
            info_spec=wrapped.info_spec,
            clip=False,
            validate_args=False,
        )
        self._wrapped = wrapped
        spec = wrapped.time_step_spec.observation
        self._mean = tf.Variable(tf.zeros(spec.shape, spec.dtype), trainable=False, name="mean")
        self._scale = tf.Variable(tf.ones(spec.shape, spec.dtype), trainable=False, name="scale")
        self._mean_in = tf.compat.v1.placeholder(spec.dtype, spec.shape, name="mean_in")
        self._scale_in = tf.compat.v1.placeholder(spec.dtype, spec.shape, name="scale_in")
        self._assign = tf.group(
            self._mean.assign(self._mean_in), self._scale.assign(self._scale_in)
        )
        self._shape, self._dtype = tuple(spec.shape), spec.dtype.as_numpy_dtype
        self._clip = clip

    @property
    def variables_to_set(self) -> list:
        return [self._mean, self._scale]

    def set_statistics(self, session, mean, scale) -> None:
        """Give the graph these statistics (float64 arrays broadcastable to the observations)."""
        feed = {
            self._mean_in: np.broadcast_to(mean, self._shape).astype(self._dtype),
            self._scale_in: np.broadcast_to(scale, self._shape).astype(self._dtype),
        }
        session.run(self._assign, feed)

    def _normalize(self, time_step):
        observation = (time_step.observation - self._mean) * self._scale
        if self._clip is not None:
            observation = tf.clip_by_value(observation, -self._clip, self._clip)
        return time_step._replace(observation=observation)

    def _variables(self):
        return self._wrapped.variables()

    def _action(self, time_step, policy_state, seed):
        return self._wrapped.action(self._normalize(time_step), policy_state, seed=seed)

    def _distribution(self, time_step, policy_state):
        return self._wrapped.distribution(self._normalize(time_step), policy_state)

    def _get_initial_state(self, batch_size):
        return self._wrapped.get_initial_state(batch_size)
