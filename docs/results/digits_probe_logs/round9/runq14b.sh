#!/bin/bash
# runq14b.sh Q...: wait until runq14.sh and every probe are done, then run the queue files in turn
cd /tmp/dp/r9
while pgrep -f "runq14.sh" >/dev/null || pgrep -f "chain14.sh" >/dev/null; do sleep 5; done
for q in "$@"; do ./chain14.sh "$q"; done
