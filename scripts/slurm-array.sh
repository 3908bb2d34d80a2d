#!/usr/bin/env bash
# A superb grid as a SLURM job array: one array task per job of `superb plan`.
#   node dist/src/cli.js plan $GRID              # prints the count N
#   GRID="--upstream fbank,base --task all --seeds 0,1,2" sbatch --array=0-$((N-1)) scripts/slurm-array.sh
#   node dist/src/cli.js merge results-* --out results    # when the array is done
# `--job` without a value reads SLURM_ARRAY_TASK_ID. The feature cache may be shared (it is
# written atomically); point SUPERB_CACHE_DIR at a shared disk to extract each upstream once.
#SBATCH --job-name=superb
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=superb-%A_%a.log
set -euo pipefail
: "${GRID:?set GRID to the superb run flags of the grid}"
# shellcheck disable=SC2086 # GRID is a flag list
exec node dist/src/cli.js run $GRID --job --results-dir "results-${SLURM_ARRAY_TASK_ID}" --no-progress
