"""Formats on disk: what a path holds (`layout`), the files a run reads (`sources`), reading
TensorFlow's checkpoint formats without TensorFlow (`checkpoint_reader`), checking them before
TensorFlow reads them (`validation`), describing them (`inspection`), and the result documents
pytfpol writes, typed, with their validating readers (`report_documents`). No TensorFlow."""
