"""The policy: configs (`policy_config`, `inference`), rebuilt networks (`networks`), loading into
a graph and session as a `PyTFPolicy` (`loading`), checkpoints and NumpyState (`checkpoints`),
batch-invariant inference (`invariance`) and per-episode sampling (`sampling`). TensorFlow,
except for `policy_config`, `inference` and `partial_restore`."""
