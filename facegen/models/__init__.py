"""Models, one folder per family (vae/, classifier/, ...), each model a class registered by name in
:mod:`facegen.models.registry` against the contract of :mod:`facegen.models.base`."""
