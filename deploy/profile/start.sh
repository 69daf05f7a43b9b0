#!/bin/sh
# Starts `pushcert serve` with the apps of deploy/profile/serve.json on 127.0.0.1:6001 (or
# $PUSHCERT_ADDR), in the background; its pid goes to $PUSHCERT_PROFILE_DIR/serve.pid.
set -e
dir=${PUSHCERT_PROFILE_DIR:-out/profile}
mkdir -p "$dir"
${PUSHCERT_BIN:-bin/pushcert} serve --config "$(dirname "$0")/serve.json" --addr "${PUSHCERT_ADDR:-127.0.0.1:6001}" \
  --log-level error >>"$dir/serve.log" 2>&1 &
echo $! >"$dir/serve.pid"
