#!/usr/bin/env bash
# The conformance step of the pushcert GitHub Action (action.yml): runs pushcert check with the
# action's inputs (given as INPUT_* variables, never pasted into the script), appends the
# Markdown summary to the job's summary, and records the exit code for the verdict step.
set -uo pipefail

out="${RUNNER_TEMP:-/tmp}/pushcert-report"
args=(check --out "$out")
if [ -n "${PUSHCERT_TARGET:-}" ]; then
  args+=(--supports "${INPUT_SUPPORTS:-auto}")
fi
if [ -n "${INPUT_PROFILE:-}" ]; then
  args+=(--profile "$INPUT_PROFILE")
fi
if [ -n "${INPUT_EXPECTED_FAILURES:-}" ]; then
  args+=(--expected-failures "$INPUT_EXPECTED_FAILURES")
fi
if [ -n "${INPUT_WEBHOOK_LISTEN:-}" ]; then
  args+=(--webhook-listen "$INPUT_WEBHOOK_LISTEN")
fi
extra=()
if [ -n "${INPUT_ARGS:-}" ]; then
  read -r -a extra <<<"$INPUT_ARGS" # words, as a shell splits them; no globbing, no expansion
fi

"${PUSHCERT_BIN:?PUSHCERT_BIN names the pushcert binary}" "${args[@]}" "${extra[@]}"
code=$?
if [ -f "$out/summary.md" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
echo "report-dir=$out" >>"${GITHUB_OUTPUT:-/dev/null}"
exit 0 # the action's verdict step fails the job, after the reports are uploaded
