"""facegen: controllable face generation (AE, VAE, CVAE, ...) on face photos.

Importing facegen before torch (every script does) lets torch's idle CPU threads sleep instead of spinning
(:func:`facegen.core.threads.prefer_passive_waiting`), so training stays fast when other processes share the
cores; a value the user set for ``OMP_WAIT_POLICY`` is kept.
"""

from facegen.core.threads import prefer_passive_waiting

prefer_passive_waiting()
