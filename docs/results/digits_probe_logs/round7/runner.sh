#!/bin/bash
# runner.sh: wait for the running chains, then run the lines appended to queue.txt two at a time
export OPENBLAS_NUM_THREADS=1
cd /tmp/dp/r7
while pgrep -f "chain11.sh" >/dev/null; do sleep 5; done
tail -n +1 -f queue.txt | xargs -P 2 -L 1 bash -c 'python probe11.py "$0" "$@" > "$0.log" 2>&1'
