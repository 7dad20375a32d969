#!/usr/bin/env bash
# README's quick tour, as a stranger would run it: the commands of README.md's block marked
# `<!-- quick tour: ... -->`, read from README.md (so they are never written twice), run one by one in a
# fresh temporary folder, each bounded in time. Needs the package with its `train` extra and the Debian
# package dataset-fashion-mnist. Prints each command, its output and how long the whole tour took.
#
#   bash tools/quick_tour.sh                 # from anywhere in the checkout, in a temporary folder
#   bash tools/quick_tour.sh DIR             # in DIR (created; it must be empty), kept afterwards
#   QUICK_TOUR_TIMEOUT=900 bash tools/quick_tour.sh   # the whole tour's limit in seconds (default 900)
#   QUICK_TOUR_KEEP=1 ...                    # keep the temporary folder (its path is printed)
#   bash tools/quick_tour.sh --print         # only print the commands it would run
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
limit="${QUICK_TOUR_TIMEOUT:-900}"

# The block: the first ```bash fence after the marker line, up to its closing fence.
commands="$(awk '
  /^<!-- quick tour:/ { marked = 1; next }
  marked && !inside && /^```bash[[:space:]]*$/ { inside = 1; next }
  inside && /^```[[:space:]]*$/ { exit }
  inside { print }
' "$root/README.md")"
if [ -z "$commands" ]; then
  echo "quick_tour.sh: no block marked '<!-- quick tour: ... -->' in README.md" >&2
  exit 2
fi

if [ "${1:-}" = "--print" ]; then
  printf '%s\n' "$commands"
  exit 0
fi

if [ -n "${1:-}" ]; then
  work="$1"
  mkdir -p "$work"
  if [ -n "$(ls -A "$work")" ]; then
    echo "quick_tour.sh: $work is not empty (the tour starts from an empty folder)" >&2
    exit 2
  fi
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/eepart-quick-tour.XXXXXX")"
  if [ -z "${QUICK_TOUR_KEEP:-}" ]; then
    trap 'rm -rf "$work"' EXIT
  else
    echo "quick_tour.sh: keeping $work"
  fi
fi
cd "$work"

start=$SECONDS
while IFS= read -r line; do
  [ -n "${line// }" ] || continue
  left=$(( limit - (SECONDS - start) ))
  if [ "$left" -le 0 ]; then
    echo "quick_tour.sh: over the tour's limit of ${limit} s before: $line" >&2
    exit 124
  fi
  echo "+ $line"
  timeout --kill-after=10 "$left" bash -euo pipefail -c "$line" </dev/null
done <<< "$commands"
echo "quick tour: done in $(( SECONDS - start )) s"
