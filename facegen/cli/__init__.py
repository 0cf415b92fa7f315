"""Command-line pieces shared by the scripts: argparse types and groups, the one-line exit, the training entry.

Every script imports this package before torch, so this is where the process is set up for shared cores:
torch's idle CPU threads sleep instead of spinning (:func:`facegen.core.threads.prefer_passive_waiting`).
"""

from facegen.core.threads import prefer_passive_waiting

prefer_passive_waiting()
