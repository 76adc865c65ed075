#!/usr/bin/env bash
# Debian/Ubuntu packages the test suite needs beyond Python wheels: Xvfb for the
# real-window test, the X11/xcb libraries Qt's xcb platform plugin loads, and
# poppler-utils (pdftoppm) to look at report pages. Installs them only when some are
# missing and we are root with apt-get; otherwise prints what is missing and carries on
# (the real-window test then skips and says why).
set -u
PKGS="xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
      libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1
      libfontconfig1 libdbus-1-3 fonts-dejavu-core poppler-utils"

command -v dpkg-query >/dev/null 2>&1 || exit 0   # not Debian-like: nothing we can check
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing) >/tmp/mammoview-apt.log 2>&1 \
        || echo "system-deps: apt-get failed (see /tmp/mammoview-apt.log); GUI tests that need them will skip"
else
    echo "system-deps: missing$missing (install them with your package manager for the real-window test)"
fi
exit 0
