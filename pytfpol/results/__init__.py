"""Results and output: the report (`report`) and the writers of its typed documents
(`documents`; the types and readers are `formats.report_documents`), the output
set in OUT (`output_set`: claim, stage, commit, recover, check; its names and manifests in
`output_manifest`; its lock in `locking`), single files written atomically (`files`), pictures
(`plots`), JUnit files (`junit`) and Markdown summaries (`markdown`, written by `summaries`)."""
