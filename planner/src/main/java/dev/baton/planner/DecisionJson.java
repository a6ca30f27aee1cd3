package dev.baton.planner;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * The record of one tick as JSON: what was observed, predicted, the capacity, the targets and the reasons.
 * The router logs it (one line), serves it at {@code GET /v1/planner}; {@code bin/baton plan} prints it.
 * Undefined figures (an infinite expected latency, an unmeasured one) are {@code null}.
 */
public final class DecisionJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private DecisionJson() {}

    public static ObjectNode of(Observation obs, Decision d) {
        ObjectNode root = JSON.createObjectNode();
        root.put("atMillis", d.atMillis());
        ObjectNode o = root.putObject("observed");
        o.put("seconds", obs.seconds());
        o.put("arrivals", obs.arrivals());
        num(o, "requestsPerSecond", obs.requestRate());
        num(o, "prefixHitRate", obs.prefixHitRate());
        summary(o.putObject("promptTokens"), obs.promptTokens());
        summary(o.putObject("effectivePromptTokens"), obs.effectivePromptTokens());
        summary(o.putObject("outputTokens"), obs.outputTokens());
        summary(o.putObject("ttftMs"), obs.ttftMs());
        summary(o.putObject("itlMs"), obs.itlMs());
        ObjectNode op = o.putObject("pools");
        for (Map.Entry<Pool, Observation.PoolObservation> e : obs.pools().entrySet()) {
            Observation.PoolObservation p = e.getValue();
            ObjectNode n = op.putObject(e.getKey().role());
            n.put("ready", p.ready());
            n.put("starting", p.starting());
            n.put("draining", p.draining());
            n.put("running", p.running());
            n.put("waiting", p.waiting());
            num(n, "queueComputeRatio", p.queueComputeRatio());
            num(n, "kvUsage", p.kvUsage());
        }
        load(root.putObject("predicted"), d.predicted());
        Decision.Capacity c = d.capacity();
        ObjectNode cap = root.putObject("capacity");
        num(cap, "prefillTokensPerSecondPerNode", c.prefillTokensPerSecond());
        num(cap, "prefillUtilization", c.prefillUtilization());
        num(cap, "decodeTokensPerSecondPerNode", c.decodeTokensPerSecond());
        num(cap, "decodeStreamsPerNode", c.decodeStreams());
        num(cap, "prefillCorrection", c.prefillFactor());
        num(cap, "decodeCorrection", c.decodeFactor());
        cap.put("ttftReachable", c.ttftReachable());
        cap.put("itlReachable", c.itlReachable());
        ObjectNode pools = root.putObject("pools");
        for (Map.Entry<Pool, Decision.PoolDecision> e : d.pools().entrySet()) {
            Decision.PoolDecision p = e.getValue();
            ObjectNode n = pools.putObject(e.getKey().role());
            n.put("current", p.current());
            n.put("ready", p.ready());
            n.put("pending", p.pending());
            n.put("draining", p.draining());
            num(n, "required", p.required());
            n.put("desired", p.desired());
            n.put("target", p.target());
            n.put("start", p.start());
            n.put("drain", p.drain());
            n.put("abandoned", p.abandoned());
            num(n, "estimatedTtftMs", p.estimatedTtftMs());
            num(n, "estimatedItlMs", p.estimatedItlMs());
            n.put("reason", p.reason());
        }
        return root;
    }

    private static void load(ObjectNode n, Load l) {
        num(n, "requestsPerSecond", l.requestRate());
        num(n, "promptTokens", l.promptTokens());
        num(n, "effectivePromptTokens", l.effectivePromptTokens());
        num(n, "effectivePromptTokensAtPercentile", l.effectivePromptTokensHi());
        num(n, "outputTokens", l.outputTokens());
        num(n, "effectivePromptTokensPerSecond", l.effectivePromptTokensPerSecond());
        num(n, "outputTokensPerSecond", l.outputTokensPerSecond());
    }

    private static void summary(ObjectNode n, Summary s) {
        n.put("count", s.count());
        num(n, "mean", s.mean());
        num(n, "p50", s.p50());
        num(n, "p90", s.p90());
        num(n, "p99", s.p99());
        num(n, "max", s.max());
    }

    private static void num(ObjectNode n, String key, double v) {
        if (Double.isFinite(v)) {
            n.put(key, Math.round(v * 1000) / 1000.0);
        } else {
            n.putNull(key);
        }
    }
}
