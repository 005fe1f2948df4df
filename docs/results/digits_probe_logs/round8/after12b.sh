#!/bin/bash
# after12b.sh WAITFOR Q: wait for "chain12.sh WAITFOR" to end, then run Q two at a time
cd /tmp/dp/r8
while pgrep -f "chain12.sh $1" >/dev/null; do sleep 5; done
./chain12.sh "$2"
