"""facegen: controllable face generation (AE, VAE, CVAE, ...) on face photos.

Importing facegen before torch (every script does) lets torch's idle CPU threads sleep instead of spinning when
other processes keep the cores busy at start (:func:`facegen.core.threads.choose_waiting`), so training stays fast
on a busy machine and on an idle one; a value the user set for ``OMP_WAIT_POLICY`` is kept.
"""

from facegen.core.threads import choose_waiting

choose_waiting()
