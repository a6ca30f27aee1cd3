package dev.baton.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RequestTraceTest {

    @TempDir
    Path dir;

    @Test
    void aTraceSurvivesARoundTrip() throws IOException {
        List<RequestTrace.Entry> entries = List.of(new RequestTrace.Entry(0, 812, 256, 128, 143.25, 21.75),
                new RequestTrace.Entry(0.5, 40, 0, 0, Double.NaN, Double.NaN), new RequestTrace.Entry(12.125, 4000, 4000, 1, 9.5, Double.NaN));
        Path f = dir.resolve("trace.jsonl");
        RequestTrace.write(f, entries);
        assertEquals("{\"t\":0.000,\"prompt\":812,\"cached\":256,\"output\":128,\"ttftMs\":143.25,\"itlMs\":21.750}",
                Files.readAllLines(f).get(0));
        assertEquals(entries, RequestTrace.read(f));
        assertEquals(556, entries.get(0).effectivePrompt());
    }

    @Test
    void readSortsByArrivalSkipsBlankLinesAndTakesNullLatencies() throws IOException {
        Path f = dir.resolve("t.jsonl");
        Files.writeString(f, "{\"t\":2,\"prompt\":10}\n\n{\"t\":1,\"prompt\":20,\"cached\":5,\"output\":3,\"ttftMs\":null,\"itlMs\":7}\n");
        List<RequestTrace.Entry> e = RequestTrace.read(f);
        assertEquals(List.of(new RequestTrace.Entry(1, 20, 5, 3, Double.NaN, 7), new RequestTrace.Entry(2, 10, 0, 0, Double.NaN, Double.NaN)), e);
    }

    @Test
    void aBadLineIsRefusedWithItsNumber() throws IOException {
        String good = "{\"t\":0,\"prompt\":10,\"output\":5}\n";
        for (String[] bad : new String[][] {{"not json", "line 3: "}, {"{\"t\":1,\"prompt\":0}", "prompt >= 1"},
                {"{\"t\":1,\"prompt\":10,\"cached\":11}", "0 <= cached <= prompt"}, {"{\"prompt\":10}", "an object with t and prompt"},
                {"{\"t\":-1,\"prompt\":10}", "t >= 0"}, {"[1,2]", "an object with t and prompt"}}) {
            Path f = dir.resolve("bad.jsonl");
            Files.writeString(f, good + good + bad[0] + "\n" + good);
            IOException e = assertThrows(IOException.class, () -> RequestTrace.read(f), bad[0]);
            assertTrue(e.getMessage().startsWith(f + " line 3: "), e.getMessage());
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }
}
