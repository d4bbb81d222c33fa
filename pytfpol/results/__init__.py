"""Results and output: statistics (`stats`), gates (`gates`), the report (`report`), the output
directory, its lock and its atomic output sets (`storage`, `locking`), pictures (`plots`) and
JUnit files (`junit`)."""
