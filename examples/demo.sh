#!/bin/sh
# A container entrypoint that misbehaves the way real ones do: it starts a background
# worker and leaves an orphan behind, then exits. Under tini or dumb-init both would be
# left to the kernel's SIGKILL; rinit stops them politely and exits with this script's code.
#   cargo build --release && ./target/release/rinit -v -- examples/demo.sh
echo "demo: pid $$; starting a worker and leaving an orphan behind"
( sleep 300 & )
sh -c 'trap "echo worker: got SIGTERM, cleaning up; exit 0" TERM; sleep 300 & wait' &
sleep 1
echo "demo: main process exits with code 3"
exit 3
