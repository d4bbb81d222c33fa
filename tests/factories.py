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
