package dev.baton.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code bin/baton up --gpus N}: the engine nodes' backend flags (running them needs a GPU: cuda/device-check.sh). */
class UpCommandTest {

    @Test
    void shouldSpreadTheEngineNodesOverTheGpusAndKeepTheCpuWithoutThem() {
        assertEquals(List.of(), UpCommand.gpuArgs(0, 3));
        for (int i = 0; i < 4; i++) {
            assertEquals(List.of("--backend", "cuda", "--device", Integer.toString(i % 2)), UpCommand.gpuArgs(2, i));
        }
    }

    @Test
    void shouldRefuseANegativeGpuCountBeforeStartingAnything() {
        UpCommand up = new UpCommand();
        new CommandLine(up).parseArgs("--gpus", "-1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, up::call);
        assertTrue(e.getMessage().startsWith("--gpus must be 0"), e.getMessage());
    }
}
