#!/bin/bash
# runq14c.sh Q...: wait until the earlier queues and every probe are done, then run the queue files in turn
cd /tmp/dp/r9
while pgrep -f "runq14b.sh" >/dev/null || pgrep -f "runq14.sh" >/dev/null || pgrep -f "chain14.sh" >/dev/null; do sleep 5; done
for q in "$@"; do ./chain14.sh "$q"; done
