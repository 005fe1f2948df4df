#!/bin/bash
# wait until no study or probe runs, then run the queue given as $1 two at a time
while pgrep -f "python probe|eventsim study|multiprocessing.spawn" >/dev/null; do sleep 5; done
cat "$1" | xargs -P 2 -I CMD bash -c 'CMD'
