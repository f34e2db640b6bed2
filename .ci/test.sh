#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# This is README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium
fi
python -m pip install -q -r requirements-dev.txt
python -m pytest "$@"
