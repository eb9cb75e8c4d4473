#!/usr/bin/env bash
# Quickstart 2: run the test suite. When the selected tests need the Docker images and
# some are missing, the session first builds them (root, a Docker engine; debootstrap is
# apt-get installed when missing) unless CHAOS_IMAGES=skip; when it cannot, those tests
# skip with one reason. CHAOS_REQUIRE_DOCKER=1 turns every such skip into a failure.
# See tests/docker/imagesupport.py and tests/README.md.
source "$(dirname "$0")/_venv.sh"
set +e
python -m pytest "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$code"
