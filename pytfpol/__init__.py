"""pytfpol: evaluate TF-Agents policies on Gymnasium environments.

Importing this package does not import TensorFlow; `pytfpol.api` does, when first called.
"""

__version__ = "0.1.0"
