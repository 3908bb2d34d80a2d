#!/usr/bin/env bash
# The pull-request gate's shell steps (.github/workflows/superb-pr.yml runs exactly this; the test
# suite runs it locally, test/pr-gate.test.ts). For every upstream folder the PR changes, runs the
# merge base's and the PR's checkpoint on the same data (features cached in SUPERB_CACHE_DIR),
# compares them with `superb compare`, writes one markdown comment, posts or updates it in place
# when GITHUB_TOKEN and PR_NUMBER are set, and exits 1 only on a significant regression.
#
# Environment (all optional):
#   BASE_REF      branch or commit to compare against (default origin/main); the merge base is used
#   UPSTREAMS     upstream folders to compare (default: those under upstreams/ the PR changes)
#   TASKS         tasks (default all)
#   MARGINS       tolerated regressions, e.g. "asr=0.5 pr=0.3"
#   SUPERB_ARGS   extra `superb run` flags (e.g. "--seeds 0,1,2 --profile quick")
#   OUT           working folder (default .superb-pr); the comment is $OUT/comment.md
#   SUPERB        how to call superb (default: node dist/src/cli.js)
set -euo pipefail
BASE_REF=${BASE_REF:-origin/main}
TASKS=${TASKS:-all}
OUT=${OUT:-.superb-pr}
SUPERB=${SUPERB:-node $(cd "$(dirname "$0")/.." && pwd)/dist/src/cli.js}
here=$(cd "$(dirname "$0")" && pwd)

base=$(git merge-base "$BASE_REF" HEAD)
if [[ -z "${UPSTREAMS:-}" ]]; then
  UPSTREAMS=$(git diff --name-only "$base" HEAD -- upstreams/ | awk -F/ 'NF > 2 { print $2 }' | sort -u | tr '\n' ' ')
fi
mkdir -p "$OUT"
comment="$OUT/comment.md"
margin_args=()
for m in ${MARGINS:-}; do margin_args+=(--margin "$m"); done

echo "<!-- superb-compare -->" > "$comment"
if [[ -z "${UPSTREAMS// /}" ]]; then
  echo "superb: this pull request changes no upstream folder; nothing to compare." >> "$comment"
fi
status=0
for u in $UPSTREAMS; do
  rm -rf "$OUT/base-src/$u" "$OUT/results-base/$u" "$OUT/results-pr/$u"
  mkdir -p "$OUT/base-src/$u"
  if ! git cat-file -e "$base:upstreams/$u/config.json" 2>/dev/null; then
    printf '\n%s is new in this pull request: no merge-base checkpoint to compare with.\n' "$u" >> "$comment"
    continue
  fi
  git archive "$base" "upstreams/$u" | tar -x -C "$OUT/base-src/$u"
  a="hf:$OUT/base-src/$u/upstreams/$u"
  b="hf:upstreams/$u"
  # shellcheck disable=SC2086 # SUPERB and SUPERB_ARGS are word lists
  $SUPERB run --upstream "$a" --task "$TASKS" --results-dir "$OUT/results-base/$u" --no-progress ${SUPERB_ARGS:-} > /dev/null
  # shellcheck disable=SC2086
  $SUPERB run --upstream "$b" --task "$TASKS" --results-dir "$OUT/results-pr/$u" --no-progress ${SUPERB_ARGS:-} > /dev/null
  set +e
  # shellcheck disable=SC2086
  $SUPERB compare "$a" "$b" --results-dir-a "$OUT/results-base/$u" --results-dir-b "$OUT/results-pr/$u" --format markdown --fail-on-regression "${margin_args[@]}" > "$OUT/compare-$u.md"
  code=$?
  set -e
  if [[ $code -gt 1 ]]; then exit "$code"; fi
  [[ $code -eq 1 ]] && status=1
  # One marker for the whole comment; each upstream's section without its own.
  printf '\n' >> "$comment"
  tail -n +2 "$OUT/compare-$u.md" | sed "1s|.*|### \`$u\`: this pull request vs the merge base ${base:0:10}|" >> "$comment"
done

if [[ -n "${GITHUB_TOKEN:-}" && -n "${PR_NUMBER:-}" ]]; then
  node "$here/pr-comment.mjs" "$comment"
else
  echo "comment written to $comment (set GITHUB_TOKEN and PR_NUMBER to post it)"
fi
exit $status
