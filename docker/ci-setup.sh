#!/usr/bin/env bash
# Prepare a FRESH machine for the docker test tier; idempotent (a second run takes ~2 s).
#
#   1. apt: debootstrap (and docker-compose when no compose v1/v2 exists), only if missing
#   2. the project venv (scripts/_venv.sh: python3 -m venv .venv && pip install -e .[test])
#   3. check the Docker engine answers
#   4. build the images locally: debootstrap base, wheelhouse, postgres/runtime/pipeline/proxy
#      (nothing is pulled from a registry; only the Debian mirror and PyPI are used)
#
# Needs root (apt-get, debootstrap). Called by .ci/run; safe to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

need=()
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
  need+=(docker-compose)
fi
if [ "${#need[@]}" -gt 0 ]; then
  echo "[ci-setup] apt-get install ${need[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
export PATH="$PATH:/usr/sbin:/sbin"

# shellcheck source=../scripts/_venv.sh
source scripts/_venv.sh

python - <<'PY'
from harness.dockerutil import compose_command, docker_available
ok, why = docker_available()
print(f"[ci-setup] {why}")
if not ok:
    raise SystemExit("[ci-setup] no Docker engine answers: start dockerd first")
print(f"[ci-setup] compose: {' '.join(compose_command())}")
PY

# Keep the scratch space (apt cache, wheelhouse) in the checkout, as before.
export CHAOS_IMAGES_DIR="${CHAOS_IMAGES_DIR:-$PWD/.images}"
started=$(date +%s)
$SUDO env "PATH=$PATH" "CHAOS_IMAGES_DIR=$CHAOS_IMAGES_DIR" python -c "from harness.images import build_main; raise SystemExit(build_main([]))"
echo "[ci-setup] images ready in $(( $(date +%s) - started )) s"
