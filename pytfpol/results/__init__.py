"""Results and output: the report (`report`) and its typed documents (`documents`), the output
set in OUT (`output_set`: claim, stage, commit, recover, check; its names and manifests in
`output_manifest`; its lock in `locking`), single files written atomically (`files`), pictures
(`plots`) and JUnit files (`junit`)."""
