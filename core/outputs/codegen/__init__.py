"""Code generation: a pipeline description as a standalone tf.data training script (`script`), from one
emitter per kind (`sources`, `stages`, `feeders`, `models`); a watched job's tuned values as a patch of
the user's own script (`patch`)."""
