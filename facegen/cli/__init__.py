"""Command-line pieces shared by the scripts: argparse types and groups, the one-line exit, the training entry."""
