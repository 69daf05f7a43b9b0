#!/bin/sh
# Restarts the `pushcert serve` started by deploy/profile/start.sh: SIGTERM (every client is
# closed with 4200), wait for it to exit, start it again on the same address. The server's
# output goes to a file, so this script returns as soon as the new process is started.
set -e
dir=${PUSHCERT_PROFILE_DIR:-out/profile}
pid=$(cat "$dir/serve.pid")
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
sh "$(dirname "$0")/start.sh"
