"""Policy factories for the `factory = "module:function"` escape hatch of policy configs."""

from __future__ import annotations


def dqn_v2_policy(time_step_spec, action_spec):
    """The policy of DQN v2 `train_eval`, built in code instead of from [network]."""
    from tf_agents.agents.dqn.examples.v2 import train_eval as dqn_v2
    from tf_agents.policies import greedy_policy, q_policy

    num_actions = int(action_spec.maximum) - int(action_spec.minimum) + 1
    q_net = dqn_v2.create_feedforward_network((100,), num_actions)
    q_net.create_variables(time_step_spec.observation)
    return greedy_policy.GreedyPolicy(q_policy.QPolicy(time_step_spec, action_spec, q_net))


def not_a_policy(time_step_spec, action_spec):
    return "a string"


def _policy_classes():
    """Test policies (defined on first use: TensorFlow is imported only by who needs them)."""
    import tensorflow as tf
    import tensorflow_probability as tfp
    from tf_agents.policies import tf_policy
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import policy_step

    class ConstantActionPolicy(tf_policy.TFPolicy):
        """Acts `value` (a variable), or NaN with `nan=True`, whatever it sees; never clipped,
        so that pytfpol's own action check is what stands between it and the env."""

        def __init__(self, time_step_spec, action_spec, value=0.0, nan=False):
            super().__init__(time_step_spec, action_spec, clip=False)
            self._value = tf.Variable(float(value), dtype=tf.float32, name="value")
            self._nan = nan

        def _variables(self):
            return [self._value]

        def _distribution(self, time_step, policy_state):
            batch = tf.shape(time_step.step_type)[0]
            value = tf.math.log(-self._value) if self._nan else self._value  # NaN when asked
            action = tf.fill(tf.concat([[batch], self.action_spec.shape], 0), value)
            action = tf.cast(action, self.action_spec.dtype)
            return policy_step.PolicyStep(tfp.distributions.Deterministic(action), policy_state)

    class StepCounterPolicy(tf_policy.TFPolicy):
        """A recurrent policy whose state is the step count within the episode: the rewarded
        action while the count is below `limit` (a variable), the other one after. It never
        looks at the step type, so only the evaluation loop resets its state per episode."""

        def __init__(self, time_step_spec, action_spec, limit=4.0):
            state_spec = tensor_spec.TensorSpec((), tf.float32, name="count")
            super().__init__(time_step_spec, action_spec, policy_state_spec=state_spec)
            self._limit = tf.Variable(float(limit), dtype=tf.float32, name="limit")

        def _variables(self):
            return [self._limit]

        def _distribution(self, time_step, policy_state):
            good = tf.argmax(time_step.observation, axis=-1, output_type=tf.int64)
            action = tf.where(policy_state < self._limit, good, 1 - good)
            deterministic = tfp.distributions.Deterministic(action)
            return policy_step.PolicyStep(deterministic, policy_state + 1.0)

    return ConstantActionPolicy, StepCounterPolicy


def step_counter_policy(time_step_spec, action_spec):
    return _policy_classes()[1](time_step_spec, action_spec, limit=0.0)


def constant_action_policy(time_step_spec, action_spec):
    return _policy_classes()[0](time_step_spec, action_spec)
