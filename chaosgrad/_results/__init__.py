"""Results on disk: the serialisation of every result type (``serialize``, its arrays in ``arrays``) and the study's result."""
