package dev.baton.bench.serve.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.ServeSettings;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.client.Target;
import dev.baton.bench.serve.load.LoadSpec;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The JSON report: the run's configuration, then per target and load point the summary and one record per
 * request. Undefined figures ({@code NaN}) are written as {@code null}; API keys are never written.
 *
 * <pre>
 * {"version": 1, "started": "...", "config": {...},
 *  "results": [{"target": {"name", "baseUrl", "model", "nodes"},
 *               "points": [{"load", "loadValue", "summary": {...}, "requests": [{...}, ...]}]}]}
 * </pre>
 */
public final class JsonReport {

    private JsonReport() {}

    /** A mapper that writes records, with {@code NaN} and infinities as {@code null}. */
    public static ObjectMapper mapper() {
        JsonSerializer<Double> nanAsNull = new JsonSerializer<>() {
            @Override
            public void serialize(Double v, JsonGenerator g, SerializerProvider p) throws IOException {
                if (v == null || v.isNaN() || v.isInfinite()) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
        };
        SimpleModule m = new SimpleModule("nan-as-null");
        m.addSerializer(Double.class, nanAsNull);
        m.addSerializer(double.class, nanAsNull);
        return new ObjectMapper().registerModule(m).enable(SerializationFeature.INDENT_OUTPUT);
    }

    /** The report as a JSON tree. */
    public static ObjectNode tree(ServeReport report) {
        ObjectMapper json = mapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", 1);
        root.put("started", report.started().toString());
        root.set("config", config(json, report.settings()));
        ArrayNode results = root.putArray("results");
        for (TargetResult t : report.targets()) {
            ObjectNode tn = results.addObject();
            tn.set("target", target(json, t.target()).put("model", t.model()));
            ArrayNode points = tn.putArray("points");
            for (PointResult p : t.points()) {
                ObjectNode pn = points.addObject();
                pn.put("load", p.load().label());
                pn.set("loadValue", json.valueToTree(p.load().value()));
                pn.set("summary", json.valueToTree(p.summary()));
                pn.set("requests", json.valueToTree(p.requests()));
            }
        }
        return root;
    }

    /** Writes the report to {@code file}. */
    public static void write(ServeReport report, Path file) throws IOException {
        mapper().writeValue(file.toFile(), tree(report));
    }

    static ObjectNode target(ObjectMapper json, Target t) {
        ObjectNode n = json.createObjectNode();
        n.put("name", t.name());
        n.put("baseUrl", t.baseUrl().toString());
        n.put("nodes", t.nodes());
        return n;
    }

    static ObjectNode config(ObjectMapper json, ServeSettings s) {
        ObjectNode c = json.createObjectNode();
        ArrayNode targets = c.putArray("targets");
        for (Target t : s.targets()) {
            targets.add(target(json, t));
        }
        c.put("api", s.api().name().toLowerCase(java.util.Locale.ROOT));
        c.put("workload", s.workload().describe());
        ArrayNode loads = c.putArray("loads");
        for (LoadSpec l : s.loads()) {
            loads.add(l.label());
        }
        if (s.loads().getFirst() instanceof LoadSpec.Rate r) {
            c.put("burstiness", r.burstiness());
        }
        c.put("requestsPerPoint", s.limits().maxRequests());
        c.put("maxDurationS", s.limits().maxDuration() == null ? null : s.limits().maxDuration().toMillis() / 1e3);
        c.put("maxInFlight", s.limits().maxInFlight());
        c.put("thinkTimeMs", s.limits().thinkTime().toMillis());
        c.put("warmupRequests", s.warmupRequests());
        c.put("slo", s.slo().toString());
        c.put("seed", s.seed());
        c.put("ignoreEos", s.client().ignoreEos());
        c.put("requestTimeoutS", s.client().requestTimeout().toMillis() / 1e3);
        if (s.client().extraBody() != null) {
            c.set("extraBody", s.client().extraBody());
        }
        return c;
    }
}
