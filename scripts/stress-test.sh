#!/usr/bin/env bash
# Run the fast test tiers RUNS times in a row while a CPU burner keeps every core busy,
# as if no Docker image existed. Proves that no fast test depends on how busy the
# machine is, and that none needs an image. Exit 0 only when every run passed.
#
#   scripts/stress-test.sh [--runs N] [--burners N] [PYTEST ARGS...]
#
# Defaults: 5 runs, one burner per core (`nproc`), `-m "not slow and not docker"`.
# The burners are busy shell loops at normal priority, started here and always
# stopped here (EXIT trap: success, failure, Ctrl-C, SIGTERM once the running pytest has
# torn down; a burner also ends by itself when this script is gone). No-images mode:
# CHAOS_IMAGE_TAG points every image at a tag that does not exist, CHAOS_IMAGES=skip.
source "$(dirname "$0")/_venv.sh"
set +e

runs=5
burners="$(nproc)"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --burners) burners="$2"; shift 2 ;;
    *) break ;;
  esac
done
if [ "$#" -eq 0 ]; then
  set -- -m "not slow and not docker"
fi

burner_pids=()
stop_burners() {
  if [ "${#burner_pids[@]}" -gt 0 ]; then
    kill "${burner_pids[@]}" 2>/dev/null
    wait "${burner_pids[@]}" 2>/dev/null
    echo "[stress] stopped ${#burner_pids[@]} CPU burner(s)"
    burner_pids=()
  fi
}
trap stop_burners EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$burners"); do
  # busy until stopped, or until this script is gone (even SIGKILLed): kill -0 is a builtin
  bash -c 'while kill -0 "$1" 2>/dev/null; do :; done' burner "$$" &
  burner_pids+=("$!")
done
echo "[stress] ${burners} CPU burner(s) running: pids ${burner_pids[*]}"

export CHAOS_IMAGE_TAG="absent-stress-$$" CHAOS_IMAGES=skip
echo "[stress] no-images mode: CHAOS_IMAGE_TAG=$CHAOS_IMAGE_TAG CHAOS_IMAGES=skip"

summaries=()
failed=0
for run in $(seq "$runs"); do
  echo "[stress] run $run/$runs: pytest $*"
  log="$(mktemp)"
  python -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
  code="${PIPESTATUS[0]}"
  summaries+=("run $run/$runs (exit $code): $(grep -E '^=*.* (passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1)")
  rm -f "$log"
  [ "$code" -eq 0 ] || failed=$((failed + 1))
done

stop_burners
echo "[stress] summary under ${burners} CPU burner(s):"
printf '[stress]   %s\n' "${summaries[@]}"
if [ "$failed" -gt 0 ]; then
  echo "[stress] $failed of $runs run(s) failed"
  exit 1
fi
echo "[stress] all $runs run(s) passed"
