#!/usr/bin/env bash
# The GPU check of the cuda module, in two halves.
#
#   cuda/device-check.sh prepare   here (a machine with the JDK and Maven, no GPU needed): builds the module and puts
#                                  into .device/ (ignored by git) what the GPU machine needs, which has no Java:
#                                  a jlinked runtime, the jars, the test classes and the oracle models the tests read.
#                                  Prints its size: .device travels with the working tree (the device tool's carry,
#                                  64 MiB in all).
#   cuda/device-check.sh           on the GPU machine, in the repository root (device tool: command
#                                  "bash cuda/device-check.sh", carry [".device"]): every cuda test, the GPU ones
#                                  included (CudaKernelsGpuTest, CudaBackendGpuTest: kernels and the backend against
#                                  the CPU engine, determinism, KV continued in another engine), then GpuBench
#                                  (bandwidth of the decode products, prefill product TFLOP/s, the backend's prompt
#                                  and decode tokens/s on a benchmark model). Writes to $OUT (default
#                                  target/device-check): junit/ (XML reports), tests.txt, device-check.json,
#                                  nvidia-smi.txt. Exits non-zero when a test fails. About 3 minutes on an H100.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dev=$root/.device
cd "$root"
# the JDK modules the engine and the cuda module use (jdeps; java.desktop for java.beans, which the chat templates use)
MODULES=java.base,java.desktop,java.logging,java.management,jdk.management,java.naming,java.sql,java.xml,jdk.incubator.vector,jdk.unsupported,jdk.zipfs

prepare() {
    . bin/jdk.sh
    baton_select_jdk
    bin/build -q -pl cuda -am -DskipTests -Dbaton.aot=off package dependency:build-classpath \
        -Dmdep.includeScope=test -Dmdep.outputFile=target/device-classpath.txt
    rm -rf "$dev"
    mkdir -p "$dev/lib" "$dev/oracle/models" "$dev/launcher"
    bin/build -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 \
        -DoutputDirectory="$dev/launcher" -N >/dev/null
    # the test class path without what the cuda tests never load (the cluster's libraries) and what the console
    # launcher brings itself (JUnit)
    tr ':' '\n' <cuda/target/device-classpath.txt \
        | grep -Ev '/org/apache/pekko/|/org/scala-lang/|/io/aeron/|/net/openhft/(chronicle|affinity|posix|compiler)|/com/github/jnr/|/org/lmdbjava/|/uk/co/real-logic/|/com/code-intelligence/|/org/junit/|/org/opentest4j/|/org/apiguardian/|/jcuda-natives/' \
        | while read -r jar; do if [[ -f $jar ]]; then cp "$jar" "$dev/lib/"; fi; done
    # JCuda's natives without the 24 MB PTX compiler library (the kernels come compiled): the driver API is enough
    python3 - "$HOME/.m2/repository/org/jcuda/jcuda-natives/12.6.0/jcuda-natives-12.6.0-linux-x86_64.jar" \
        "$dev/lib/jcuda-natives-12.6.0-linux-x86_64.jar" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as dst:
    for item in src.infolist():
        if "NvPTXCompiler" not in item.filename and "Nvrtc" not in item.filename:
            dst.writestr(item, src.read(item.filename))
PY
    cp cuda/target/baton-cuda-*.jar "$dev/lib/"
    cp -r cuda/target/test-classes "$dev/test-classes"
    # the models CudaBackendGpuTest reads (a larger one would take the bundle past 64 MiB)
    for m in tiny-f32 tiny-qwen2-f32 tiny-llama3rope-f32 tiny-q8_0 small-kq-q4_k_m; do
        cp "$root/../shared/oracle/models/$m.gguf" "$dev/oracle/models/"
    done
    # the runtime: uncompressed modules, the whole xz-compressed (about 16 MB); unpacked there into /tmp
    rm -rf cuda/target/device-runtime
    "$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files --compress=zip-0 \
        --output cuda/target/device-runtime
    tar -C cuda/target -cf - device-runtime | xz -T0 -6 >"$dev/runtime.tar.xz"
    du -sh "$dev" "$dev"/*
    echo "ready: run 'bash cuda/device-check.sh' on the GPU machine with .device carried"
}

run() {
    if [[ ! -f $dev/runtime.tar.xz ]]; then
        echo "no .device/runtime.tar.xz: run 'cuda/device-check.sh prepare' where the JDK is, and carry .device" >&2
        exit 2
    fi
    rt=${TMPDIR:-/tmp}/baton-device-runtime
    rm -rf "$rt"
    mkdir -p "$rt"
    xz -dc "$dev/runtime.tar.xz" | tar -C "$rt" --strip-components=1 -xf -
    out=${OUT:-$root/target/device-check}
    mkdir -p "$out"
    (nvidia-smi || true) >"$out/nvidia-smi.txt" 2>&1
    java=("$rt/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx16g
        -XX:+UseParallelGC "-Dbaton.oracle.dir=$dev/oracle")
    cp=$dev/test-classes
    for jar in "$dev"/lib/*.jar; do
        cp=$cp:$jar
    done
    status=0
    timeout 300 "${java[@]}" -jar "$dev"/launcher/junit-platform-console-standalone-*.jar execute \
        --class-path "$cp" --select-package dev.baton.cuda --details=tree --disable-banner \
        --reports-dir "$out/junit" >"$out/tests.txt" 2>&1 || status=$?
    tail -40 "$out/tests.txt"
    timeout 240 "${java[@]}" -cp "$cp" dev.baton.cuda.GpuBench "$out/device-check.json" || status=$((status == 0 ? 3 : status))
    exit $status
}

case "${1:-run}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: cuda/device-check.sh [prepare|run]" >&2; exit 2 ;;
esac
