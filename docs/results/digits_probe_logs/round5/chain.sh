#!/bin/bash
# wait for the running probe processes, then run the queue given as $1
while pgrep -f "python probe" >/dev/null; do sleep 5; done
cat "$1" | xargs -P 2 -I CMD bash -c 'CMD'
