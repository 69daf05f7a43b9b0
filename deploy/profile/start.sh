#!/bin/sh
# Starts `pushcert serve` with the apps of deploy/profile/serve.json on 127.0.0.1:6001 (or
# $PUSHCERT_ADDR), in the background; its pid goes to $PUSHCERT_PROFILE_DIR/serve.pid. The
# apps "1" and "hooks" post their webhooks to the suite's receiver, `pushcert check
# --webhook-listen 127.0.0.1:6002` (or $PUSHCERT_WEBHOOK_ADDR).
set -e
dir=${PUSHCERT_PROFILE_DIR:-out/profile}
mkdir -p "$dir"
sed "s#http://127.0.0.1:6002/#http://${PUSHCERT_WEBHOOK_ADDR:-127.0.0.1:6002}/#" "$(dirname "$0")/serve.json" >"$dir/serve.json"
${PUSHCERT_BIN:-bin/pushcert} serve --config "$dir/serve.json" --addr "${PUSHCERT_ADDR:-127.0.0.1:6001}" \
  --log-level error >>"$dir/serve.log" 2>&1 &
echo $! >"$dir/serve.pid"
