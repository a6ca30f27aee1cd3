package dev.baton.bench.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp's own benchmarks on the same model files, in the same run as {@link EngineBenchmark}, so that speed is
 * quoted as a ratio measured on one machine at one time: {@code llama-bench} (prompt processing and single-stream
 * generation, JSON output) and, when it is beside it, {@code llama-batched-bench} (aggregate generation speed of 8
 * and 32 parallel sequences, JSONL output). Never built or shipped by Baton: the oracle's
 * {@code tools/build-llama-cpp.sh} builds it in a scratch directory.
 */
public final class LlamaBench {

    /** llama.cpp's figures for one model and thread count, tokens per second; NaN where not measured. */
    public record Row(String model, int threads, double promptTokensPerSecond, double decodeTokensPerSecond,
            double batch8TokensPerSecond, double batch32TokensPerSecond) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT_MINUTES = 20;

    private final Path llamaBench;
    private final int promptTokens;
    private final int decodeTokens;
    private final int repetitions;

    /** @param llamaBench the {@code llama-bench} executable; {@code llama-batched-bench} is looked for beside it */
    public LlamaBench(Path llamaBench, int promptTokens, int decodeTokens, int repetitions) {
        if (!Files.isExecutable(llamaBench)) {
            throw new IllegalArgumentException("--llama-bench " + llamaBench + " is not an executable file (build it with "
                    + "../shared/oracle/tools/build-llama-cpp.sh)");
        }
        this.llamaBench = llamaBench;
        this.promptTokens = promptTokens;
        this.decodeTokens = decodeTokens;
        this.repetitions = repetitions;
    }

    /** Runs llama.cpp's benchmarks on {@code model} with {@code threads} threads. */
    public Row run(Path model, int threads) throws IOException, InterruptedException {
        String bench = exec(List.of(llamaBench.toString(), "-m", model.toString(), "-t", Integer.toString(threads),
                "-p", Integer.toString(promptTokens), "-n", Integer.toString(decodeTokens), "-r", Integer.toString(repetitions),
                "-o", "json"), false);
        double[] pt = parseBench(bench, promptTokens, decodeTokens);
        double b8 = Double.NaN;
        double b32 = Double.NaN;
        Path batched = llamaBench.resolveSibling("llama-batched-bench");
        if (Files.isExecutable(batched)) {
            int steps = Math.max(16, decodeTokens / 2); // as EngineBenchmark's batched decode
            String out = exec(List.of(batched.toString(), "-m", model.toString(), "-t", Integer.toString(threads), "-tb",
                    Integer.toString(threads), "-c", Integer.toString(32 * (steps + 16)), "-b", "2048", "-ub", "512",
                    "-npp", "1", "-ntg", Integer.toString(steps), "-npl", "8,32", "--output-format", "jsonl"), true);
            TreeMap<Integer, Double> speeds = parseBatched(out);
            b8 = speeds.getOrDefault(8, Double.NaN);
            b32 = speeds.getOrDefault(32, Double.NaN);
        }
        return new Row(model.getFileName().toString(), threads, pt[0], pt[1], b8, b32);
    }

    /** {prompt tok/s, generation tok/s} from llama-bench's {@code -o json} output (its {@code avg_ts} per test). */
    static double[] parseBench(String json, int promptTokens, int decodeTokens) throws IOException {
        JsonNode root = JSON.readTree(json.substring(Math.max(0, json.indexOf('['))));
        double pp = Double.NaN;
        double tg = Double.NaN;
        for (JsonNode t : root) {
            int np = t.path("n_prompt").asInt();
            int ng = t.path("n_gen").asInt();
            double ts = t.path("avg_ts").asDouble(Double.NaN);
            if (np == promptTokens && ng == 0) {
                pp = ts;
            } else if (np == 0 && ng == decodeTokens) {
                tg = ts;
            }
        }
        if (Double.isNaN(pp) || Double.isNaN(tg)) {
            throw new IOException("llama-bench printed no pp" + promptTokens + " or tg" + decodeTokens + " result: " + abbreviate(json));
        }
        return new double[] {pp, tg};
    }

    /** Parallel sequences to generation tok/s ({@code speed_tg}) from llama-batched-bench's JSONL output. */
    static TreeMap<Integer, Double> parseBatched(String jsonl) throws IOException {
        TreeMap<Integer, Double> out = new TreeMap<>();
        for (String line : jsonl.split("\n")) {
            String l = line.strip();
            if (!l.startsWith("{")) {
                continue; // its log lines
            }
            JsonNode o = JSON.readTree(l);
            if (o.has("pl") && o.has("speed_tg")) {
                out.put(o.get("pl").asInt(), o.get("speed_tg").asDouble());
            }
        }
        return out;
    }

    /** Runs {@code cmd}; its standard output (with its standard error when {@code merged}: batched-bench logs its JSONL). */
    private static String exec(List<String> cmd, boolean merged) throws IOException, InterruptedException {
        Path log = Files.createTempFile("llama-bench", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(log.toFile());
            if (merged) {
                pb.redirectErrorStream(true);
            } else {
                pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            }
            Process p = pb.start();
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not finish in " + TIMEOUT_MINUTES + " minutes");
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + abbreviate(out));
            }
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }

    /** A Markdown table of Baton's rows beside llama.cpp's, with the ratios (Baton / llama.cpp). */
    public static String sideBySide(List<EngineBenchmark.Row> baton, List<Row> llama) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | weights | threads | Baton pp | llama.cpp pp | ratio | Baton tg | llama.cpp tg | ratio "
                + "| Baton 8 seqs | llama.cpp 8 | ratio | Baton 32 seqs | llama.cpp 32 | ratio |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<Row> rest = new ArrayList<>(llama);
        for (EngineBenchmark.Row b : baton) {
            Row l = rest.stream().filter(r -> r.model().equals(b.model()) && r.threads() == b.threads()).findFirst().orElse(null);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d |", b.model(), b.weights(), b.threads()));
            cell(sb, b.promptTokensPerSecond(), l == null ? Double.NaN : l.promptTokensPerSecond());
            cell(sb, b.decodeTokensPerSecond(), l == null ? Double.NaN : l.decodeTokensPerSecond());
            cell(sb, b.batch8TokensPerSecond(), l == null ? Double.NaN : l.batch8TokensPerSecond());
            cell(sb, b.batch32TokensPerSecond(), l == null ? Double.NaN : l.batch32TokensPerSecond());
            sb.append('\n');
        }
        return sb.toString();
    }

    private static void cell(StringBuilder sb, double baton, double llama) {
        sb.append(String.format(Locale.ROOT, " %,.0f | %s | %s |", baton, Double.isNaN(llama) ? "-" : String.format(Locale.ROOT, "%,.0f", llama),
                Double.isNaN(llama) || llama == 0 ? "-" : String.format(Locale.ROOT, "%.2f", baton / llama)));
    }
}
