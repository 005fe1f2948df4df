#!/bin/bash
# after.sh Q: wait for the running chains, then run Q two at a time
cd /tmp/dp/r8
while pgrep -f "chain12.sh q1" >/dev/null; do sleep 5; done
./chain12.sh "$1"
