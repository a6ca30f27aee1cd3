package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeLauncherTest {

    @Test
    void shouldPassTheAotCacheAndModuleFlagsButNotTheHeapOrOtherOptionsToTheNode() {
        List<String> parent = List.of("-XX:AOTCache=/d/baton.aot", "-XX:+VerifySharedSpaces", "-Xlog:aot=off,cds=off",
                "-Xmx2g", "-XX:+UseParallelGC", "--add-modules=jdk.incubator.vector", "-Dbaton.home=/b",
                "-Xlog:gc:file=/tmp/gc.log", "-Dother=1");
        List<String> cmd = NodeLauncher.command("/jdk/bin/java", parent, "/d/lib/*", "384m", List.of("prefill", "--threads", "1"));
        int java = cmd.indexOf("/jdk/bin/java");
        assertEquals(List.of("/jdk/bin/java", "-Xmx384m", "-XX:AOTCache=/d/baton.aot", "-XX:+VerifySharedSpaces",
                "-Xlog:aot=off,cds=off", "-XX:+UseParallelGC", "--add-modules=jdk.incubator.vector", "-Dbaton.home=/b",
                "-cp", "/d/lib/*", Baton.class.getName(), "prefill", "--threads", "1"), cmd.subList(java, cmd.size()));
    }
}
