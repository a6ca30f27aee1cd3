package dev.baton.planner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * A request trace: one JSON object per line, written by the router ({@code baton.planner.trace-file}) and
 * by the benchmark's trace generator, read by {@code bin/baton plan} and the simulator.
 *
 * <pre>{"t":12.503,"prompt":812,"cached":256,"output":128,"ttftMs":143.2,"itlMs":21.7}</pre>
 *
 * {@code t} is the arrival in seconds from the trace's start; {@code cached} the prompt tokens served from a
 * prefix cache; the latencies are absent (or null) when not measured (a generated trace).
 */
public final class RequestTrace {

    /** One request. {@code ttftMs} and {@code itlMs} are NaN when not measured. */
    public record Entry(double t, int prompt, int cached, int output, double ttftMs, double itlMs) {
        public Entry {
            if (!(t >= 0) || prompt < 1 || cached < 0 || cached > prompt || output < 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT,
                        "bad request: t %s, prompt %d, cached %d, output %d (need t >= 0, prompt >= 1, 0 <= cached <= prompt, output >= 0)",
                        t, prompt, cached, output));
            }
        }

        /** Prompt tokens the prefill pool computes. */
        public int effectivePrompt() {
            return prompt - cached;
        }

        /** The line of this entry (no newline). */
        public String json() {
            StringBuilder b = new StringBuilder(96);
            b.append(String.format(Locale.ROOT, "{\"t\":%.3f,\"prompt\":%d,\"cached\":%d,\"output\":%d", t, prompt, cached, output));
            if (Double.isFinite(ttftMs)) {
                b.append(String.format(Locale.ROOT, ",\"ttftMs\":%.2f", ttftMs));
            }
            if (Double.isFinite(itlMs)) {
                b.append(String.format(Locale.ROOT, ",\"itlMs\":%.3f", itlMs));
            }
            return b.append('}').toString();
        }
    }

    private RequestTrace() {}

    /** Reads a trace, sorted by arrival; a bad line is refused with its number. */
    public static List<Entry> read(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Entry> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonNode o = json.readTree(line);
                    if (!o.isObject() || !o.has("t") || !o.has("prompt")) {
                        throw new IllegalArgumentException("an object with t and prompt is expected");
                    }
                    out.add(new Entry(o.get("t").asDouble(), o.get("prompt").asInt(), o.path("cached").asInt(0),
                            o.path("output").asInt(0), number(o.get("ttftMs")), number(o.get("itlMs"))));
                } catch (IOException | RuntimeException e) {
                    throw new IOException(file + " line " + n + ": " + e.getMessage(), e);
                }
            }
        }
        out.sort(Comparator.comparingDouble(Entry::t));
        return out;
    }

    private static double number(JsonNode n) {
        return n == null || !n.isNumber() ? Double.NaN : n.asDouble();
    }

    /** Writes a trace (one line per entry). */
    public static void write(Path file, List<Entry> entries) throws IOException {
        try (Writer w = Files.newBufferedWriter(file)) {
            for (Entry e : entries) {
                w.write(e.json());
                w.write('\n');
            }
        }
    }
}
