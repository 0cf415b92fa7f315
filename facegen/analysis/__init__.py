"""What you do with a trained model: encode, sample, sweeps, directions, attribute vectors, metrics, judges."""
