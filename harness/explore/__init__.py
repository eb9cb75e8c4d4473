"""``chaos-harness explore``: generative chaos over an ``explore:`` menu of faults.

``menu`` (the scenario section), ``source`` (reading and checking an explore file),
``strategy`` (hypothesis strategies for schedules), ``search`` (hypothesis's ``find``
over real runs, within a budget), ``summary`` (``minimal.yaml`` and the summary), ``cli``.
Nothing here is imported by a plain ``run`` except ``menu``.
"""
