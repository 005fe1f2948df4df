#!/bin/bash
# runq.sh Q...: wait until no probe runs, then run each queue file in turn, two probes at a time
cd /tmp/dp/r8
while pgrep -f "chain12.sh" >/dev/null || pgrep -f "after12b.sh" >/dev/null; do sleep 5; done
for q in "$@"; do ./chain12.sh "$q"; done
