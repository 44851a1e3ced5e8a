"""Results on disk: the serialisation of every result type and the study's result."""
