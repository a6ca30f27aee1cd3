#!/bin/sh
# The container's entrypoint: runs one Baton command (router, prefill, decode, worker, ...; its arguments
# are this script's) on the image's own Java runtime, with the JVM flags bin/baton uses (the same as
# baton.jvm.flags in pom.xml: keep the three in sync; it/ImageLayoutIT checks it against bin/baton).
#   BATON_JVM_OPTS  JVM options such as the heap (default: -Xmx2g); the Helm chart sets them per role
#   BATON_HOME      the installation (default: the directory above this script's, /opt/baton in the image)
# java replaces this shell (exec), so it is PID 1 in a container and SIGTERM reaches it: the node drains.
set -eu
BATON_HOME="${BATON_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
# BATON_JVM_OPTS holds several options: split on blanks, as bin/baton does.
# shellcheck disable=SC2086
exec "$BATON_HOME/runtime/bin/java" ${BATON_JVM_OPTS:--Xmx2g} -XX:+UseParallelGC \
  --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow --add-exports java.base/jdk.internal.misc=ALL-UNNAMED \
  --add-opens java.base/java.util.zip=ALL-UNNAMED \
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED \
  --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED \
  --add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
  --add-opens=java.base/java.util=ALL-UNNAMED \
  -Dchronicle.analytics.disable=true -Dchronicle.announcer.disable=true \
  -Dbaton.home="$BATON_HOME" \
  -cp "$BATON_HOME/lib/*" dev.baton.cli.Baton "$@"
