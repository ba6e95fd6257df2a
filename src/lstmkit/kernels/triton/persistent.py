"""Persistent kernels (placeholder until written): nothing fits yet."""


def lstm_fits(B, H, dtype):
    return False


def gru_fits(B, H, dtype):
    return False


def rnn_fits(B, H, dtype):
    return False
