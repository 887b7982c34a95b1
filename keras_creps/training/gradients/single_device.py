"""Replica helpers for backends whose step sees the whole batch.

PyTorch trains on one device; data-parallel JAX
(`keras.distribution.DataParallel`) is global SPMD code, so its step also
sees the whole batch. Either way there is nothing to split or reduce.
"""


def num_replicas():
    return 1


def replica_slice(x):
    return x


def replica_mean(x):
    return x


def assign(pairs):
    for variable, value in pairs:
        variable.assign(value)
