"""Method-agnostic training machinery: devices, checkpoints, loops, logging, distributed."""
