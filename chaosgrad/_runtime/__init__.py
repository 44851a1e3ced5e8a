"""The runtime, apart from the science: compilation and its cache, the compile policy, the schedule of work ahead and beside, threads, sharding, the float64 scope, progress and interrupts."""
