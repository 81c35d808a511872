#!/usr/bin/env bash
# gmr as other services take it in (issue #7), from a checkout (Debian 12, as root
# or with sudo):
#   1. builds gmr (RelWithDebInfo, for /usr) and installs it into a staging prefix;
#   2. against that prefix: the installed headers, the find_package consumer, the
#      README's thirty-second example (built as written, then sent SIGUSR2 and asked
#      over HTTP) and the same example built with pkg-config;
#   3. the add_subdirectory consumer (gmr as shared libraries: what they export) and
#      the FetchContent consumer (a clone of this checkout's HEAD);
#   4. the Debian package: cpack, then `apt-get install ./gmr_VERSION_ARCH.deb`,
#      step 2 again against /usr, and the package purged again. A libgmr-dev left
#      installed from before is purged before step 1.
# Work files go to build-consumers/ (GMR_CONSUMERS_DIR overrides); the .deb stays in
# build-consumers/gmr/. GMR_CONSUMERS_DEB=0 skips step 4 (no root needed then).
# About 3 to 4 minutes on 2 cores; every step prints its time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${GMR_CONSUMERS_DIR:-$root/build-consumers}
mkdir -p "$work"
work=$(cd "$work" && pwd)
consumers=$root/tests/consumers/run.sh

bash scripts/deps.sh
deb_step=${GMR_CONSUMERS_DEB:-1}
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
# A libgmr-dev left from an earlier run would be in every consumer's search path.
purge_package() {
  if dpkg-query -W -f='${Status}' libgmr-dev 2>/dev/null | grep -q "installed"; then
    $sudo apt-get purge -y -qq libgmr-dev >/dev/null
  fi
}
if [[ $deb_step != 0 ]]; then
  purge_package
fi

start=$SECONDS
step_start=$SECONDS
step() {
  printf '\n== consumers: %s (previous step: %ds)\n' "$*" "$((SECONDS - step_start))" >&2
  step_start=$SECONDS
}

step "build gmr and install it into $work/stage"
cmake -S . -B "$work/gmr" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DGMR_BUILD_TESTS=OFF -DGMR_BUILD_EXAMPLES=OFF -DGMR_BUILD_BENCH=OFF >/dev/null
cmake --build "$work/gmr" -j "$(nproc)"
rm -rf "$work/stage"
DESTDIR="$work/stage" cmake --install "$work/gmr" >/dev/null

step "consumers of the installed gmr"
bash "$consumers" installed "$work/stage/usr" "$work/installed"

step "add_subdirectory"
bash "$consumers" add_subdirectory "$work/add_subdirectory"

step "FetchContent"
bash "$consumers" fetchcontent "$work/fetchcontent"

if [[ $deb_step != 0 ]]; then
  step "the Debian package"
  rm -f "$work"/gmr/gmr_*.deb
  (cd "$work/gmr" && cpack -G DEB >/dev/null)
  deb=$(ls "$work"/gmr/gmr_*.deb)
  dpkg-deb --field "$deb" Package Version Architecture Depends
  # apt resolves the dependencies from the packages deps.sh installed: no download.
  (cd "$(dirname "$deb")" &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "./$(basename "$deb")" >/dev/null)
  dpkg -L libgmr-dev | grep -E '\.(a|so|pc|cmake)$|/gmr/gmr\.hpp$'

  step "consumers of the Debian package"
  status=0
  bash "$consumers" installed /usr "$work/from-deb" || status=$?
  purge_package
  ((status == 0)) || exit "$status"
  echo "the package: $deb (purged again)"
fi

step "done"
echo "consumers: all passed in $((SECONDS - start))s" >&2
