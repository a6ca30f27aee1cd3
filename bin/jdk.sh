# Sourced by bin/build and bin/baton: selects a Java 25+ JDK and exports JAVA_HOME.
# Order: $BATON_JAVA_HOME, then $JAVA_HOME if it is 25+, then /usr/lib/jvm/*.
baton_java_major() { # prints the major version of the JDK in $1 (its release file, else its java binary), or 0
  local v
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null | head -1)
  if [ -n "$v" ]; then echo "$v"; return; fi
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -1
}
baton_select_jdk() {
  local c m
  for c in "${BATON_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    m=$(baton_java_major "$c")
    if [ "${m:-0}" -ge 25 ] 2>/dev/null; then export JAVA_HOME="$c"; return 0; fi
  done
  echo "baton: no Java 25 JDK found (looked at \$BATON_JAVA_HOME, \$JAVA_HOME and /usr/lib/jvm/*)." >&2
  echo "baton: install Temurin 25 (or any JDK 25+) and set BATON_JAVA_HOME to its directory." >&2
  return 1
}
