#!/bin/sh
# chromium.sh - Debian's chromium (or $CHROMIUM) without the right to raise its own
# priority. Run as root, chromium renices its browser process to -8, above every daemon
# under test: on two cores the suites running beside a browser suite then miss their
# time bounds. Without CAP_SYS_NICE it keeps the nice value it was started with. A user
# who cannot drop the capability does not have it either: chromium then runs as is.
browser=${CHROMIUM:-/usr/bin/chromium}
drop="setpriv --bounding-set=-sys_nice --inh-caps=-sys_nice --"
if $drop true 2>/dev/null; then
    exec $drop "$browser" "$@"
fi
exec "$browser" "$@"
