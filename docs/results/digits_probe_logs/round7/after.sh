#!/bin/bash
# after.sh QFILE...: wait for running chains, then run each list in turn
while pgrep -f "chain11.sh" >/dev/null; do sleep 10; done
for q in "$@"; do ./chain11.sh $q > chain_$q.out 2>&1; done
