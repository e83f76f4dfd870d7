#!/usr/bin/env bash
# The plan search split over 2 MPI ranks on localhost gives byte for byte what one process gives.
set -euo pipefail
trainsim=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_MCA_mpi_warn_on_fork=0 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
"$trainsim" search "$source_dir/scenarios/search-llama2-7b.yaml" --top 4 --json > "$work/one.json"
mpirun --allow-run-as-root --oversubscribe -n 2 "$trainsim" search "$source_dir/scenarios/search-llama2-7b.yaml" \
  --top 4 --json > "$work/two.json"
cmp "$work/one.json" "$work/two.json"
grep -q '"plans"' "$work/two.json"
echo "mpi search: 2 ranks match 1 process"
