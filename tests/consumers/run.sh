#!/usr/bin/env bash
# Builds and runs the consumer projects: gmr used the way services use it.
#
#   run.sh installed PREFIX WORK  against gmr installed in PREFIX ("/usr" for the
#                                 Debian package: then no CMAKE_PREFIX_PATH is given)
#   run.sh add_subdirectory WORK  gmr built inside the consumer, as shared libraries
#   run.sh fetchcontent WORK      gmr fetched with FetchContent from this checkout
#
# `installed` checks the installed headers (each compiles alone, none pulls in
# cpp-httplib or nlohmann), builds tests/consumers/find_package (version checks,
# components, every target) and runs it, checks what its shared library exports,
# builds and runs the README example exactly as README.md writes it (a
# signal and HTTP), and builds that example again with pkg-config.
# The consumers are built with -O0 and no -g: they test the integration, and the
# builds of gmr inside add_subdirectory and fetchcontent dominate the run time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# The document whose first cpp and cmake blocks are the thirty-second example.
GMR_EMBEDDING_DOC=${GMR_EMBEDDING_DOC:-$root/README.md}
jobs=$(nproc)
fast=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0)

say() { printf '\n== consumers: %s\n' "$*" >&2; }
fail() { printf 'consumers: FAILED: %s\n' "$*" >&2; exit 1; }

# The project's version, as the top-level CMakeLists.txt says it.
version=$(sed -nE 's/^project\(gmr VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
[[ -n $version ]] || fail "no version in $root/CMakeLists.txt"

# check_exports HEADERS FILE...: the dynamic symbols the files define may name nothing of
# gmr but what the public headers in HEADERS/gmr/ declare, and nothing of nlohmann,
# cpp-httplib or an anonymous namespace.
check_exports() {
  local headers=$1; shift
  local words symbols bad
  words=$(cat "$headers"/gmr/*.hpp | grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u)
  symbols=$(nm -D --defined-only "$@" | awk '{print $3}' | c++filt | sort -u)
  bad=$(grep -E 'nlohmann|httplib|anonymous namespace' <<<"$symbols" || true)
  # gmr's own shared libraries (version script) export gmr's names and nothing else.
  if [[ ${only_gmr_names:-} ]]; then bad+=$'\n'$(grep -v '^gmr::' <<<"$symbols" || true); fi
  # Every component of every gmr:: name must be a word of the public headers.
  while read -r name; do
    local part
    for part in $(tr ':' ' ' <<<"${name#gmr::}"); do
      part=${part#\~}
      if ! grep -qx -- "$part" <<<"$words"; then
        bad+=$'\n'"$name (in: $(grep -m1 -F -- "$name" <<<"$symbols"))"
        break
      fi
    done
  done < <(grep -oE 'gmr::[A-Za-z_][A-Za-z0-9_]*(::~?[A-Za-z_][A-Za-z0-9_]*)*' <<<"$symbols" | sort -u)
  bad=$(sed '/^$/d' <<<"$bad")
  if [[ -n $bad ]]; then
    printf '%s\n' "$bad" | head -20 >&2
    fail "$* export symbols that are not gmr's public API"
  fi
  echo "exports of $(basename -a "$@" | tr '\n' ' '): $(grep -c 'gmr::' <<<"$symbols") gmr symbols, all public API"
}

# extract LANG: the first fenced block of that language in the embedding document.
extract() {
  awk -v lang="$1" '$0 == "```" lang {inside = 1; next} inside && /^```/ {exit} inside' \
    "$GMR_EMBEDDING_DOC"
}

# run_example BINARY: runs the README's service on a free port, asks for a report
# with SIGUSR2 and over HTTP, and stops it.
run_example() {
  local bin=$1 dir log pid url
  dir=$(dirname "$bin")
  log=$dir/stderr.log
  "$bin" --oslo_reports.http_port=0 2>"$log" &
  pid=$!
  for _ in $(seq 100); do
    url=$(sed -nE 's/^gmr: admin endpoint at (http[^ ]+)$/\1/p' "$log")
    [[ -n $url ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "the example exited"; }
    sleep 0.1
  done
  [[ -n $url ]] || { kill "$pid"; cat "$log" >&2; fail "the example printed no endpoint"; }
  kill -USR2 "$pid"
  for _ in $(seq 100); do
    grep -q 'Work Queue' "$log" && break
    sleep 0.1
  done
  local json
  json=$(curl -fsS --max-time 20 "$url?format=json") || { kill "$pid"; fail "GET $url"; }
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  grep -q '====                        Guru Meditation                         ====' "$log" ||
    { cat "$log" >&2; fail "no report on stderr after SIGUSR2"; }
  grep -q 'Work Queue' "$log" || fail "the report lacks the example's section"
  grep -q "\"schema_version\": *$expected_schema\b" <<<"$json" || fail "schema_version in $url"
  grep -q "\"gmr_version\": *\"$version\"" <<<"$json" || fail "gmr_version in $url"
  echo "the example: a report on SIGUSR2, and from $url"
}

installed() {
  local prefix=$1 work=$2
  local include=$prefix/include
  local -a where=()
  [[ $prefix == /usr ]] || where=(-DCMAKE_PREFIX_PATH="$prefix")
  rm -rf "$work" && mkdir -p "$work"
  expected_schema=${version%%.*}
  ((expected_schema == 0)) && expected_schema=1

  say "installed headers in $include"
  local h count=0
  for h in "$include"/gmr/*.hpp; do
    count=$((count + 1))
    # -H lists every header included; the public ones must include neither library.
    echo "#include <gmr/$(basename "$h")>" |
      g++ -std=c++17 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -H -I"$include" -x c++ - 2>"$work/h.txt" ||
      { cat "$work/h.txt" >&2; fail "$h does not compile alone"; }
    if grep -E 'httplib|nlohmann' "$work/h.txt" >&2; then fail "$h includes cpp-httplib or nlohmann"; fi
  done
  echo "$count headers compile alone and include neither cpp-httplib nor nlohmann"

  say "find_package consumer (tests/consumers/find_package) against $prefix"
  cmake -S "$here/find_package" -B "$work/find_package" "${fast[@]}" "${where[@]}" \
    -DGMR_EXPECTED_VERSION="$version" >"$work/find_package.log" ||
    { cat "$work/find_package.log" >&2; fail "configuring the find_package consumer"; }
  grep -E '^-- gmr ' "$work/find_package.log"
  grep -qF -- "-- gmr $version from $prefix/" "$work/find_package.log" ||
    fail "find_package(gmr) did not find the package in $prefix"
  cmake --build "$work/find_package" -j "$jobs" >/dev/null
  "$work/find_package/consumer"
  check_exports "$include" "$work/find_package/libconsumer_plugin.so"

  say "the thirty-second example, as $GMR_EMBEDDING_DOC writes it"
  mkdir -p "$work/example"
  extract cpp >"$work/example/main.cpp"
  extract cmake >"$work/example/CMakeLists.txt"
  [[ -s $work/example/main.cpp && -s $work/example/CMakeLists.txt ]] ||
    fail "no cpp and cmake blocks in $GMR_EMBEDDING_DOC"
  cmake -S "$work/example" -B "$work/example/build" "${fast[@]}" "${where[@]}" >/dev/null
  cmake --build "$work/example/build" -j "$jobs" >/dev/null
  run_example "$work/example/build/my-service"

  say "the example with pkg-config (gmr-admin)"
  local pcdir
  pcdir=$(dirname "$(find "$prefix"/lib* -path '*/pkgconfig/gmr-admin.pc' | head -1)")
  [[ -d $pcdir ]] || fail "no gmr-admin.pc under $prefix"
  local flags
  flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs gmr-admin)
  echo "pkg-config --cflags --libs gmr-admin: $flags"
  # shellcheck disable=SC2086  # the flags are words
  g++ -std=c++17 -o "$work/example/my-service-pc" "$work/example/main.cpp" $flags \
    -Wl,-rpath,"$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir gmr)"  # for a shared gmr
  "$work/example/my-service-pc" --help >/dev/null || fail "the pkg-config build does not run"
  [[ $(PKG_CONFIG_PATH=$pcdir pkg-config --modversion gmr) == "$version" ]] || fail "gmr.pc's version"
  echo "built and ran with pkg-config"
}

add_subdirectory_consumer() {
  local work=$1
  say "add_subdirectory consumer (tests/consumers/add_subdirectory), gmr as shared libraries"
  rm -rf "$work" && mkdir -p "$work"
  cmake -S "$here/add_subdirectory" -B "$work" "${fast[@]}" -DBUILD_SHARED_LIBS=ON \
    -DGMR_SOURCE_DIR="$root" >"$work/configure.log" ||
    { cat "$work/configure.log" >&2; fail "configuring the add_subdirectory consumer"; }
  cmake --build "$work" -j "$jobs" >/dev/null
  "$work/consumer"
  local libs=("$work"/gmr/report/libgmr_report.so "$work"/gmr/server/libgmr_admin.so
              "$work"/gmr/report/fibers/libgmr_fibers.so)
  readelf -d "$work/consumer" | grep -q 'NEEDED.*libgmr_admin.so' || fail "the consumer is not linked to libgmr_admin.so"
  only_gmr_names=1 check_exports_merged "${libs[@]}"
}

# check_exports_merged FILE...: check_exports with the public headers of the source
# tree, which live in three directories.
check_exports_merged() {
  local merged
  merged=$(mktemp -d)
  mkdir -p "$merged/gmr"
  cp "$root"/report/include/gmr/*.hpp "$root"/server/include/gmr/*.hpp \
     "$root"/report/fibers/include/gmr/*.hpp "$merged/gmr/"
  check_exports "$merged" "$@"
  rm -rf "$merged"
}

fetchcontent_consumer() {
  local work=$1
  rm -rf "$work" && mkdir -p "$work"
  local -a source=()
  # A fresh clone (CI) fetches the checkout's HEAD with git; with uncommitted
  # changes, FetchContent takes the working tree as it is instead.
  if [[ -n $(git -C "$root" status --porcelain 2>/dev/null) ]]; then
    say "fetchcontent consumer: the checkout has uncommitted changes, so FETCHCONTENT_SOURCE_DIR_GMR=$root"
    source=(-DFETCHCONTENT_SOURCE_DIR_GMR="$root")
  else
    say "fetchcontent consumer (tests/consumers/fetchcontent): git clone of $root at HEAD"
  fi
  cmake -S "$here/fetchcontent" -B "$work" "${fast[@]}" -DGMR_GIT_REPOSITORY="$root" "${source[@]}" \
    >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; fail "configuring the fetchcontent consumer"; }
  # Only what the consumer links: gmr::report.
  cmake --build "$work" -j "$jobs" --target consumer >/dev/null
  "$work/consumer"
}

case ${1:-} in
  installed) installed "$2" "$3" ;;
  add_subdirectory) add_subdirectory_consumer "$2" ;;
  fetchcontent) fetchcontent_consumer "$2" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
