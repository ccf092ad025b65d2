#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs ctest.
# Usage: scripts/test.sh [ctest arguments...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
jb_install_deps
jb_build -DJB_WERROR=ON
cd "${JB_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 600 "$@"
