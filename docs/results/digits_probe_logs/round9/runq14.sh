#!/bin/bash
# runq14.sh Q...: wait until no probe runs, then run each queue file in turn, two probes at a time
cd /tmp/dp/r9
while pgrep -f "chain14.sh" >/dev/null; do sleep 5; done
for q in "$@"; do ./chain14.sh "$q"; done
