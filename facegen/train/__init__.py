"""The one trainer for every model: loop, devices, amp, torchrun, clipping, NaN guard, checkpoints, resume, logs."""
