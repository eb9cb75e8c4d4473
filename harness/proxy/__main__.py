"""``python -m harness.proxy``: run the API server in the foreground."""

from .server import serve_main

raise SystemExit(serve_main())
