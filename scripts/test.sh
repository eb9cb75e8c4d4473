#!/usr/bin/env bash
# Quickstart 2: run the test suite (Docker tests skip without an engine unless CHAOS_REQUIRE_DOCKER=1).
source "$(dirname "$0")/_venv.sh"
set +e
python -m pytest "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$code"
