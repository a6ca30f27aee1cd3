package dev.baton.planner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The measured capacity of one node, as {@code bin/baton bench profile} writes it (its {@code Profile} JSON):
 * TTFT against prompt length on a prefill node, ITL (each request's time per output token, the profile's TPOT)
 * against concurrency and context length on a decode node.
 * Only what the planner needs is kept: latency percentiles per point. Points with failed requests or no
 * samples are dropped.
 *
 * @param nodes the node count of the profiled target (concurrency per node is concurrency / nodes)
 */
public record CapacityProfile(String model, int nodes, List<PrefillPoint> prefill, List<DecodePoint> decode) {

    /** Latency percentiles of one point, milliseconds. */
    public record Latency(double p50, double p90, double p99) {
        public Latency {
            if (!(p50 > 0) || !(p90 >= p50) || !(p99 >= p90)) {
                throw new IllegalArgumentException("latencies must be positive and ordered, got p50 " + p50 + ", p90 " + p90
                        + ", p99 " + p99);
            }
        }

        /** At percentile {@code q} (a fraction), interpolated; the median below 0.5. */
        public double at(double q) {
            if (q <= 0.5) {
                return p50;
            }
            if (q <= 0.9) {
                return p50 + (p90 - p50) * (q - 0.5) / 0.4;
            }
            return p90 + (p99 - p90) * Math.min(1, (q - 0.9) / 0.09);
        }
    }

    /** One prompt length, requests one at a time: {@code ttftMs} is the prefill time with fixed overheads. */
    public record PrefillPoint(int inputTokens, Latency ttftMs) {}

    /** {@code concurrency} streams decoding on {@code contextTokens} of context. */
    public record DecodePoint(int concurrency, int contextTokens, Latency itlMs) {}

    public CapacityProfile {
        prefill = prefill.stream().sorted(Comparator.comparingInt(PrefillPoint::inputTokens)).toList();
        decode = decode.stream().sorted(Comparator.comparingInt(DecodePoint::contextTokens)
                .thenComparingInt(DecodePoint::concurrency)).toList();
        if (nodes < 1) {
            throw new IllegalArgumentException("nodes " + nodes + " < 1");
        }
        if (prefill.isEmpty() || decode.isEmpty()) {
            throw new IllegalArgumentException("the profile needs prefill points and decode points (it has " + prefill.size()
                    + " and " + decode.size() + " usable ones)");
        }
    }

    /** Reads a profile file; a missing, unreadable or incomplete file is refused with the reason and the path. */
    public static CapacityProfile read(Path file) {
        try {
            return parse(new ObjectMapper().readTree(Files.readString(file)));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("capacity profile " + file + " does not exist (make one with bin/baton bench profile)", e);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("capacity profile " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the JSON of {@code bench profile}. */
    public static CapacityProfile parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("not a profile: a JSON object is expected");
        }
        int nodes = root.path("nodes").asInt(1);
        List<PrefillPoint> prefill = new ArrayList<>();
        for (JsonNode p : root.path("prefill")) {
            Latency l = latency(p.path("ttftMs"));
            if (l != null && p.path("failed").asInt(0) == 0 && p.path("inputTokens").asInt(0) > 0) {
                prefill.add(new PrefillPoint(p.path("inputTokens").asInt(), l));
            }
        }
        List<DecodePoint> decode = new ArrayList<>();
        for (JsonNode d : root.path("decode")) {
            // The ITL objective is a request's time per output token (the router's ITL of a request): the profile's
            // TPOT of each request. Its per-chunk gaps (itlMs) are not: tokens streamed in bursts make most gaps 0
            // (a median of 0 ms on a loaded host), which would drop the point or size the decode pool from noise.
            Latency l = latency(d.path("tpotMs"));
            if (l == null) {
                l = latency(d.path("itlMs")); // a profile without TPOT
            }
            if (l != null && d.path("failed").asInt(0) == 0 && d.path("concurrency").asInt(0) > 0) {
                decode.add(new DecodePoint(d.path("concurrency").asInt(), Math.max(1, d.path("contextTokens").asInt()), l));
            }
        }
        return new CapacityProfile(root.path("model").asText(""), nodes, prefill, decode);
    }

    private static Latency latency(JsonNode stats) {
        if (stats.path("count").asInt(0) < 1) {
            return null;
        }
        double p50 = stats.path("median").asDouble(Double.NaN);
        double p90 = stats.path("p90").asDouble(Double.NaN);
        double p99 = stats.path("p99").asDouble(Double.NaN);
        if (!(p50 > 0) || !(p90 > 0) || !(p99 > 0)) {
            return null;
        }
        return new Latency(p50, Math.max(p50, p90), Math.max(p50, Math.max(p90, p99)));
    }
}
