#!/bin/bash
# run the lines of $1 two at a time: NAME args...
export OPENBLAS_NUM_THREADS=1
cd /tmp/dp/r9
xargs -P 2 -L 1 bash -c 'python probe14.py "$0" "$@" > "$0.log" 2>&1' < "$1"
