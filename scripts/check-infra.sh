#!/usr/bin/env bash
# Compiles and lints infra/ with the real Bicep CLI; fails on any error or warning. Never skipped: when the CLI
# cannot be installed, scripts/install-bicep.sh says so loudly and this exits non-zero.
#   bash scripts/check-infra.sh                  build + lint
#   bash scripts/check-infra.sh --arm FILE       also keep the compiled ARM JSON of infra/main.bicep in FILE
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

arm_out=""
if [ "${1:-}" = "--arm" ]; then
  arm_out="${2:?--arm needs a file name}"
fi

bicep="$(bash scripts/install-bicep.sh)"
echo "Bicep: $("$bicep" --version)"

log="$(mktemp)"
json="$(mktemp)"
trap 'rm -f "$log" "$json"' EXIT

status=0
"$bicep" build infra/main.bicep --outfile "$json" >"$log" 2>&1 || status=$?
"$bicep" lint --pattern 'infra/**/*.bicep' >>"$log" 2>&1 || status=$?
cat "$log"

# bicep lint exits 0 on warnings, so the output is the verdict. Diagnostics read "file(line,col) : Warning rule: …".
errors=$(grep -c -E ' : Error ' "$log" || true)
warnings=$(grep -c -E ' : Warning ' "$log" || true)
if [ "$status" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ] || [ ! -s "$json" ]; then
  echo "check-infra: FAILED (exit $status, $errors error(s), $warnings warning(s))" >&2
  exit 1
fi
if [ -n "$arm_out" ]; then
  cp "$json" "$arm_out"
fi
files=$(find infra -name '*.bicep' | wc -l | tr -d ' ')
echo "check-infra: OK: bicep build and bicep lint on $files file(s), 0 errors, 0 warnings"
