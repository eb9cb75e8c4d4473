#!/usr/bin/env bash
# Quickstart 2: run the test suite. When the selected tests need the Docker images and
# some are missing, the session first builds them (root, a Docker engine; debootstrap is
# apt-get installed when missing) unless CHAOS_IMAGES=skip; when it cannot, those tests
# skip with one reason. CHAOS_REQUIRE_DOCKER=1 turns every such skip into a failure.
# See tests/docker/imagesupport.py and tests/README.md.
#
# Test files run on CHAOS_TEST_WORKERS pytest-xdist workers (default 2, one file per
# worker at a time: `--dist loadfile`); CHAOS_TEST_WORKERS=1, or your own -n, runs them
# as you say.
source "$(dirname "$0")/_venv.sh"
workers=()
if [ "${CHAOS_TEST_WORKERS:-2}" != 1 ] && ! printf '%s\n' "$@" | grep -qE '^(-n|--numprocesses|-p *no:xdist)'; then
  workers=(-n "${CHAOS_TEST_WORKERS:-2}" --dist loadfile)
fi
set +e
python -m pytest "${workers[@]}" "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$code"
