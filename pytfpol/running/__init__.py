"""Running episodes: the environment (`env_spec`, `envs`, `vector`), the batched episode loop
(`evaluation`), what a run will do (`plan`), and units of work (`units`)."""
