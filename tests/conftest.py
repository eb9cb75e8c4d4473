"""Suite-wide settings: the pytester plugin, and Hypothesis without wall-clock limits.

Hypothesis fails an example that runs past its 200 ms ``deadline`` (or whose data takes
too long to generate) when the machine is busy: no test may decide from such a
threshold, so the profile turns both off everywhere.
"""

from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]

settings.register_profile("chaos-harness", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("chaos-harness")
