"""What you do with a trained model, one sub-package per job: latent, judges, directions, editing, evaluation."""
