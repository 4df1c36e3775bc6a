#!/bin/sh
# Fails on its first attempt and succeeds on the next one (the step is retried).
set -eu
if [ ! -e work/flaky.attempted ]; then
  touch work/flaky.attempted
  echo "first attempt fails on purpose" >&2
  exit 1
fi
echo flaky >> work/state.txt
echo "flaky step done on a retry"
