package dev.baton.bench.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.planner.CapacityModel;
import dev.baton.planner.Decision;
import dev.baton.planner.Load;
import dev.baton.planner.Objectives;
import dev.baton.planner.PlannerSettings;
import dev.baton.planner.Pool;
import dev.baton.planner.Replay;
import dev.baton.planner.RequestTrace;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The planner against fixed allocations on one trace ({@code bin/baton bench simulate}):
 *
 * <ul>
 *   <li><b>planner</b>: the SLO planner in the loop, the pools starting at their minimum;
 *   <li><b>fixed-peak</b>: the planner's own peak allocation (per pool, the most nodes it ran at once), all the
 *       time: a fixed allocation sized for the peak by the same capacity model and corrections;
 *   <li><b>fixed-model-peak</b>: the allocation the capacity model (as profiled, uncorrected) sizes for the
 *       trace's busiest minute, all the time ({@link #peakAllocation}): an operator's sizing without the planner;
 *   <li><b>fixed-same</b>: the best split of {@code ceil(planner node-seconds / trace length)} nodes, the fixed
 *       allocation with (at least) the planner's node-seconds;
 *   <li><b>fixed-cheapest</b>: the fewest fixed nodes (best split) with at least the target attainment, searched
 *       up to the peak allocation plus 4.
 * </ul>
 */
public final class Simulation {

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** The runs of one trace. */
    public record Outcome(String trace, ClusterSimulator.Result planner, ClusterSimulator.Result fixedPeak,
            ClusterSimulator.Result fixedSame, ClusterSimulator.Result fixedCheapest, ClusterSimulator.Result fixedModelPeak) {

        /** Planner node-seconds over fixed-peak node-seconds. */
        public double nodeSecondsRatio() {
            return planner.nodeSeconds() / fixedPeak.nodeSeconds();
        }
    }

    private Simulation() {}

    /**
     * Planner settings for a simulation: {@code baton.planner} from reference.conf with the objectives, the
     * interval and pools of 1 to 16 nodes (budget 32), then {@code overrides} (HOCON inside {@code baton.planner},
     * e.g. {@code "max-step = 4"}). Durations are HOCON durations ({@code 500ms}, {@code 10s}).
     */
    public static PlannerSettings plannerSettings(Path profile, String ttft, String itl, double percentile, String interval,
            String overrides) {
        String base = "baton.planner { mode = advise\n profile = " + quote(profile.toString()) + "\n interval = " + quote(interval)
                + "\n objectives { ttft = " + quote(ttft) + ", itl = " + quote(itl) + ", percentile = " + percentile + " }\n"
                + " pools { prefill { min = 1, max = 16 }, decode { min = 1, max = 16 } }\n node-budget = 32 }\n";
        com.typesafe.config.Config c = com.typesafe.config.ConfigFactory.parseString(base);
        if (overrides != null && !overrides.isBlank()) {
            c = com.typesafe.config.ConfigFactory.parseString("baton.planner {\n" + overrides + "\n}").withFallback(c);
        }
        return PlannerSettings.from(c.withFallback(com.typesafe.config.ConfigFactory.defaultReference()).resolve());
    }

    private static String quote(String s) {
        return com.typesafe.config.ConfigUtil.quoteString(s);
    }

    /**
     * Nodes per pool {prefill, decode} the capacity model (as profiled, no correction) wants for the trace's
     * busiest one-minute window.
     */
    public static int[] peakAllocation(List<RequestTrace.Entry> trace, CapacityModel model, PlannerSettings s) {
        Objectives o = s.objectives();
        double window = 60;
        double end = ClusterSimulator.duration(trace, window);
        int[] peak = {1, 1};
        int from = 0;
        for (double w = window; w <= end + 1e-9; w += window) {
            int to = from;
            while (to < trace.size() && trace.get(to).t() < w) {
                to++;
            }
            if (to > from) {
                Load l = Replay.observe((long) (w * 1000), window, trace.subList(from, to), Map.of()).load(o.quantile());
                double p = model.prefillNodes(l, o.ttftMs(), o.quantile(), s.maxUtilization());
                double d = l.outputTokensPerSecond() / model.decodeTokensPerSecond(l, o.itlMs(), o.quantile());
                peak[0] = Math.max(peak[0], (int) Math.ceil(p - 1e-9));
                peak[1] = Math.max(peak[1], (int) Math.ceil(d - 1e-9));
            }
            from = to;
        }
        return peak;
    }

    /** Runs the planner and the fixed allocations on one trace. */
    public static Outcome compare(String name, List<RequestTrace.Entry> trace, CapacityModel model, PlannerSettings s,
            ClusterSimulator.Settings cs, double targetAttainment) {
        Objectives o = s.objectives();
        double intervalS = s.interval().toMillis() / 1000.0;
        ClusterSimulator.Result planner = ClusterSimulator.planned("planner", trace, model, s, cs);
        int[] peak = {planner.maxPrefill(), planner.maxDecode()};
        ClusterSimulator.Result fixedPeak = ClusterSimulator.fixed(label("fixed-peak", peak[0], peak[1]), trace, model, o, cs,
                intervalS, peak[0], peak[1]);
        int same = Math.max(2, (int) Math.ceil(planner.nodeSeconds() / planner.durationS() - 1e-9));
        ClusterSimulator.Result fixedSame = bestSplit("fixed-same", same, trace, model, o, cs, intervalS);
        ClusterSimulator.Result cheapest = null;
        for (int n = 2; n <= peak[0] + peak[1] + 4 && cheapest == null; n++) {
            ClusterSimulator.Result r = bestSplit("fixed-cheapest", n, trace, model, o, cs, intervalS);
            if (r.attainment() >= targetAttainment) {
                cheapest = r;
            }
        }
        int[] sized = peakAllocation(trace, model, s);
        ClusterSimulator.Result modelPeak = ClusterSimulator.fixed(label("fixed-model-peak", sized[0], sized[1]), trace, model, o,
                cs, intervalS, sized[0], sized[1]);
        return new Outcome(name, planner, fixedPeak, fixedSame, cheapest, modelPeak);
    }

    private static String label(String kind, int p, int d) {
        return kind + " " + p + "P" + d + "D";
    }

    /** The split of {@code total} fixed nodes with the highest attainment. */
    static ClusterSimulator.Result bestSplit(String kind, int total, List<RequestTrace.Entry> trace, CapacityModel model,
            Objectives o, ClusterSimulator.Settings cs, double intervalS) {
        ClusterSimulator.Result best = null;
        for (int p = 1; p < total; p++) {
            ClusterSimulator.Result r = ClusterSimulator.fixed(label(kind, p, total - p), trace, model, o, cs, intervalS, p, total - p);
            if (best == null || r.attainment() > best.attainment()) {
                best = r;
            }
        }
        return best;
    }

    // ---- report

    /** Writes {@code simulation.json}, {@code simulation.csv}, per trace {@code <trace>-series.csv} and {@code <trace>.png}. */
    public static List<Path> write(List<Outcome> outcomes, PlannerSettings s, ClusterSimulator.Settings cs, String profileName,
            Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("profile", profileName);
        ObjectNode obj = root.putObject("objectives");
        obj.put("ttftMs", s.objectives().ttftMs());
        obj.put("itlMs", s.objectives().itlMs());
        obj.put("percentile", s.objectives().percentile());
        ObjectNode sim = root.putObject("cluster");
        sim.put("startupMs", cs.startupMs());
        sim.put("transferMs", cs.transferMs());
        sim.put("noise", cs.noise());
        sim.put("seed", cs.seed());
        sim.put("plannerIntervalS", s.interval().toMillis() / 1000.0);
        ArrayNode traces = root.putArray("traces");
        Path csv = dir.resolve("simulation.csv");
        try (Writer w = Files.newBufferedWriter(csv)) {
            w.write("trace,run,prefill_max,decode_max,requests,completed,met,attainment,goodput_rps,prefill_node_s,decode_node_s,node_s,node_s_vs_fixed_peak\n");
            for (Outcome oc : outcomes) {
                ObjectNode t = traces.addObject();
                t.put("trace", oc.trace());
                t.put("requests", oc.planner().requests());
                t.put("durationS", oc.planner().durationS());
                t.put("plannerNodeSecondsVsFixedPeak", oc.nodeSecondsRatio());
                ArrayNode runs = t.putArray("runs");
                for (ClusterSimulator.Result r : runs(oc)) {
                    ObjectNode j = runs.addObject();
                    j.put("run", r.name());
                    j.put("attainment", r.attainment());
                    j.put("goodputPerSecond", r.goodputPerSecond());
                    j.put("prefillNodeSeconds", r.prefillNodeSeconds());
                    j.put("decodeNodeSeconds", r.decodeNodeSeconds());
                    j.put("nodeSeconds", r.nodeSeconds());
                    j.put("maxPrefill", r.maxPrefill());
                    j.put("maxDecode", r.maxDecode());
                    j.put("completed", r.completed());
                    w.write(String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%d,%d,%.4f,%.3f,%.0f,%.0f,%.0f,%.3f%n", oc.trace(), r.name(),
                            r.maxPrefill(), r.maxDecode(), r.requests(), r.completed(), r.met(), r.attainment(), r.goodputPerSecond(),
                            r.prefillNodeSeconds(), r.decodeNodeSeconds(), r.nodeSeconds(), r.nodeSeconds() / oc.fixedPeak().nodeSeconds()));
                }
                Path series = dir.resolve(oc.trace() + "-series.csv");
                writeSeries(oc, series);
                files.add(series);
                Path png = dir.resolve(oc.trace() + ".png");
                chart(oc, s, png);
                files.add(png);
            }
        }
        Path j = dir.resolve("simulation.json");
        json.writeValue(j.toFile(), root);
        files.add(0, csv);
        files.add(0, j);
        return files;
    }

    private static List<ClusterSimulator.Result> runs(Outcome oc) {
        List<ClusterSimulator.Result> out = new ArrayList<>();
        out.add(oc.planner());
        out.add(oc.fixedPeak());
        out.add(oc.fixedModelPeak());
        out.add(oc.fixedSame());
        if (oc.fixedCheapest() != null) {
            out.add(oc.fixedCheapest());
        }
        return out;
    }

    private static void writeSeries(Outcome oc, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file)) {
            w.write("t_s,arrivals,planner_prefill,planner_decode,planner_prefill_ready,planner_decode_ready,planner_attainment,"
                    + "planner_ttft_p90_ms,planner_itl_p90_ms,fixed_peak_attainment,fixed_same_attainment,prefill_required,decode_required,"
                    + "prefill_factor,decode_factor\n");
            List<ClusterSimulator.Interval> p = oc.planner().series();
            for (int i = 0; i < p.size(); i++) {
                ClusterSimulator.Interval x = p.get(i);
                Decision d = i < oc.planner().decisions().size() ? oc.planner().decisions().get(i) : null;
                w.write(String.format(Locale.ROOT, "%.0f,%d,%d,%d,%d,%d,%s,%.1f,%.2f,%s,%s,%s,%s,%s,%s%n", x.endS(), x.arrivals(),
                        x.prefillNodes(), x.decodeNodes(), x.prefillReady(), x.decodeReady(), num(x.attainment()), x.ttftP90Ms(),
                        x.itlP90Ms(), num(at(oc.fixedPeak(), i)), num(at(oc.fixedSame(), i)),
                        d == null ? "" : num(d.pools().get(Pool.PREFILL).required()),
                        d == null ? "" : num(d.pools().get(Pool.DECODE).required()),
                        d == null ? "" : num(d.capacity().prefillFactor()), d == null ? "" : num(d.capacity().decodeFactor())));
            }
        }
    }

    private static double at(ClusterSimulator.Result r, int i) {
        return i < r.series().size() ? r.series().get(i).attainment() : Double.NaN;
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** Attainment over windows of {@code per} intervals (by arrival), for a readable chart. */
    static double[][] windowed(ClusterSimulator.Result r, int per) {
        List<ClusterSimulator.Interval> s = r.series();
        int m = (s.size() + per - 1) / per;
        double[] x = new double[m];
        double[] y = new double[m];
        for (int k = 0; k < m; k++) {
            long a = 0;
            long met = 0;
            int last = Math.min(s.size(), (k + 1) * per) - 1;
            for (int i = k * per; i <= last; i++) {
                a += s.get(i).arrivals();
                met += s.get(i).met();
            }
            x[k] = s.get(last).endS() / 60;
            y[k] = a > 0 ? (double) met / a : 1;
        }
        return new double[][] {x, y};
    }

    /** Two panels: nodes per pool over time (planner, fixed-peak) and attainment over time (planner and the fixed runs). */
    static void chart(Outcome oc, PlannerSettings s, Path png) throws IOException {
        int width = 760;
        XYChart nodes = new XYChartBuilder().width(width).height(300)
                .title(oc.trace() + ": nodes per pool").xAxisTitle("minutes").yAxisTitle("nodes").build();
        style(nodes);
        List<ClusterSimulator.Interval> ps = oc.planner().series();
        double[] t = new double[ps.size()];
        double[] pp = new double[ps.size()];
        double[] pd = new double[ps.size()];
        double[] fp = new double[ps.size()];
        double[] fd = new double[ps.size()];
        for (int i = 0; i < ps.size(); i++) {
            t[i] = ps.get(i).endS() / 60;
            pp[i] = ps.get(i).prefillNodes();
            pd[i] = ps.get(i).decodeNodes();
            fp[i] = oc.fixedPeak().maxPrefill();
            fd[i] = oc.fixedPeak().maxDecode();
        }
        line(nodes.addSeries("planner prefill", t, pp), new Color(0x1f77b4), false);
        line(nodes.addSeries("planner decode", t, pd), new Color(0xd62728), false);
        line(nodes.addSeries("fixed-peak prefill", t, fp), new Color(0x1f77b4), true);
        line(nodes.addSeries("fixed-peak decode", t, fd), new Color(0xd62728), true);
        nodes.getStyler().setYAxisMin(0.0);
        nodes.getStyler().setXAxisDecimalPattern("0");

        int per = Math.max(1, (int) Math.round(60_000.0 / s.interval().toMillis()));
        XYChart att = new XYChartBuilder().width(width).height(340)
                .title(String.format(Locale.ROOT, "SLO attainment per minute (TTFT <= %.0f ms and ITL <= %.0f ms)",
                        s.objectives().ttftMs(), s.objectives().itlMs()))
                .xAxisTitle("minutes").yAxisTitle("share of requests").build();
        style(att);
        att.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        att.getStyler().setXAxisDecimalPattern("0");
        att.getStyler().setLegendLayout(Styler.LegendLayout.Vertical);
        double[][] a = windowed(oc.planner(), per);
        line(att.addSeries(String.format(Locale.ROOT, "planner %.1f%%, %.0f node-s", 100 * oc.planner().attainment(),
                oc.planner().nodeSeconds()), a[0], a[1]), new Color(0x2ca02c), false);
        a = windowed(oc.fixedPeak(), per);
        line(att.addSeries(String.format(Locale.ROOT, "%s %.1f%%, %.0f node-s", oc.fixedPeak().name(), 100 * oc.fixedPeak().attainment(),
                oc.fixedPeak().nodeSeconds()), a[0], a[1]), new Color(0x7f7f7f), true);
        a = windowed(oc.fixedSame(), per);
        line(att.addSeries(String.format(Locale.ROOT, "%s %.1f%%, %.0f node-s", oc.fixedSame().name(), 100 * oc.fixedSame().attainment(),
                oc.fixedSame().nodeSeconds()), a[0], a[1]), new Color(0xff7f0e), false);

        BufferedImage top = BitmapEncoder.getBufferedImage(nodes);
        BufferedImage bottom = BitmapEncoder.getBufferedImage(att);
        BufferedImage img = new BufferedImage(width, top.getHeight() + bottom.getHeight(), BufferedImage.TYPE_BYTE_INDEXED);
        Graphics2D g = img.createGraphics();
        g.drawImage(top, 0, 0, null);
        g.drawImage(bottom, 0, top.getHeight(), null);
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static void style(XYChart c) {
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setMarkerSize(0);
        c.getStyler().setAntiAlias(false);
    }

    private static void line(XYSeries s, Color c, boolean dashed) {
        s.setLineColor(c);
        s.setMarker(SeriesMarkers.NONE);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        if (dashed) {
            s.setLineStyle(new java.awt.BasicStroke(1.5f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER, 10f,
                    new float[] {6f, 4f}, 0f));
        } else {
            s.setLineStyle(new java.awt.BasicStroke(1.8f));
        }
    }
}
