"""``chaos-harness sweep``: the breaking point of each SLO along one scenario parameter.

``param`` (``--param PATH=LOW..HIGH``: parse, set), ``search`` (the bounded bisection
over real runs), ``plot`` (SVG charts), ``page`` (``sweep.json`` and ``sweep.html``), ``cli``.
"""
