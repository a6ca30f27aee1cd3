#!/usr/bin/env bash
# Lays out the container image's /opt/baton in DIR, as deploy/container/Dockerfile copies it into the image:
#   DIR/runtime/               a Java runtime made by jlink with the modules Baton needs
#   DIR/lib/                   the distribution's jars (cli/target/dist/lib)
#   DIR/bin/entrypoint.sh      the image's entrypoint: a Baton command on that runtime
#   DIR/cluster.conf           the repository's cluster.conf (a single host on loopback; pods get theirs
#                              from the Helm chart's ConfigMap through --config)
# Needs the distribution built (bin/build -DskipTests -pl cli -am package) and a JDK 25 (bin/jdk.sh picks it).
# The modules are the ones jdeps finds in the jars plus those the code loads at run time:
# jdk.compiler (Chronicle Map compiles code as it runs) and jdk.crypto.ec (TLS to the Kubernetes API).
#   deploy/container/build-runtime.sh DIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR  (the directory that becomes the image's /opt/baton; it must not exist or be empty)" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$1"
LIB="$ROOT/cli/target/dist/lib"
. "$ROOT/bin/jdk.sh"
baton_select_jdk
if ! ls "$LIB"/baton-cli-*.jar >/dev/null 2>&1; then
  echo "build-runtime.sh: no distribution in $LIB: run bin/build -DskipTests -pl cli -am package first" >&2
  exit 1
fi
if [ -e "$DEST" ] && [ -n "$(ls -A "$DEST")" ]; then
  echo "build-runtime.sh: $DEST is not empty" >&2
  exit 1
fi
MODULES="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps -q \
  --class-path "$LIB/*" "$LIB"/*.jar)"
MODULES="$MODULES,jdk.compiler,jdk.crypto.ec"
mkdir -p "$DEST/bin"
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files \
  --compress=zip-6 --output "$DEST/runtime" 2>&1 | grep -v 'Using incubator modules' || true
[ -x "$DEST/runtime/bin/java" ] || { echo "build-runtime.sh: jlink made no runtime" >&2; exit 1; }
cp -R "$LIB" "$DEST/lib"
cp "$ROOT/deploy/container/entrypoint.sh" "$DEST/bin/entrypoint.sh"
chmod 755 "$DEST/bin/entrypoint.sh"
cp "$ROOT/cluster.conf" "$DEST/cluster.conf"
echo "$MODULES" > "$DEST/runtime/baton-modules.txt"
echo "build-runtime.sh: $DEST (modules: $MODULES)"
