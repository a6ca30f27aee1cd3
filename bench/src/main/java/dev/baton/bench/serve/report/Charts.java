package dev.baton.bench.serve.report;

import dev.baton.bench.serve.PointResult;
import dev.baton.bench.serve.ServeReport;
import dev.baton.bench.serve.TargetResult;
import dev.baton.bench.serve.metrics.Pareto;
import dev.baton.bench.serve.metrics.PointSummary;
import dev.baton.bench.serve.metrics.RequestRecord;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.ChartEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The benchmark's charts (XChart, rendered headless):
 *
 * <ul>
 *   <li>{@code ttft-cdf}, {@code tpot-cdf}, {@code itl-cdf}, {@code e2e-cdf}: the empirical CDF of each latency,
 *       a line per target and load point.</li>
 *   <li>{@code throughput}: output tokens/s against offered load, a line per target.</li>
 *   <li>{@code goodput} (with an SLO): goodput and request throughput (req/s) against offered load.</li>
 *   <li>{@code pareto}: output tokens/s per node against tokens/s per user, every load point of every target
 *       as a marker and each target's Pareto frontier as a line.</li>
 * </ul>
 *
 * <p>Each target keeps one colour across charts. Rendering needs fonts (any TrueType font the JDK can find).
 */
public final class Charts {

    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;
    private static final int MAX_CDF_POINTS = 400;
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};

    static {
        // Charts render to images only; a display must never be needed.
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    /** The charts of a report by file stem, in display order; charts that would be empty are left out. */
    public static Map<String, XYChart> build(ServeReport report) {
        Map<String, XYChart> out = new LinkedHashMap<>();
        put(out, "ttft-cdf", cdf(report, "Time to first token", "TTFT (ms)", "requests", r -> new double[] {r.ttftMs()}));
        put(out, "tpot-cdf", cdf(report, "Time per output token", "TPOT (ms)", "requests", r -> new double[] {r.tpotMs()}));
        put(out, "itl-cdf", cdf(report, "Inter-token latency", "ITL (ms)", "gaps between tokens", RequestRecord::itlMs));
        put(out, "e2e-cdf", cdf(report, "End-to-end latency", "E2E latency (ms)", "requests", r -> new double[] {r.e2eMs()}));
        String loadAxis = report.settings().sweepsRates() ? "offered load (requests/s)" : "concurrent clients";
        put(out, "throughput", vsLoad(report, "Output throughput", loadAxis, "output tokens/s",
                List.of(new Metric("", PointSummary::outputTokensPerSecond))));
        if (!report.settings().slo().isEmpty()) {
            put(out, "goodput", vsLoad(report, "Goodput (SLO " + report.settings().slo() + ")", loadAxis, "requests/s",
                    List.of(new Metric(" goodput", PointSummary::goodput),
                            new Metric(" throughput", PointSummary::requestsPerSecond))));
        }
        put(out, "pareto", pareto(report));
        return out;
    }

    private static void put(Map<String, XYChart> out, String name, XYChart chart) {
        if (!chart.getSeriesCollection().isEmpty()) {
            out.put(name, chart);
        }
    }

    private static XYChart chart(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setMarkerSize(7);
        return c;
    }

    private static Color color(int target) {
        return PALETTE[target % PALETTE.length];
    }

    /** Target colour, paler for later load points, so a target's points read as one family. */
    private static Color shade(int target, int point, int points) {
        Color c = color(target);
        double mix = points <= 1 ? 0 : 0.6 * point / (points - 1);
        return new Color((int) (c.getRed() + (255 - c.getRed()) * mix), (int) (c.getGreen() + (255 - c.getGreen()) * mix),
                (int) (c.getBlue() + (255 - c.getBlue()) * mix));
    }

    private static XYChart cdf(ServeReport report, String title, String x, String of, Function<RequestRecord, double[]> values) {
        XYChart c = chart(title + " (CDF)", x, "fraction of " + of);
        c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        c.getStyler().setYAxisDecimalPattern("0.00");
        for (int t = 0; t < report.targets().size(); t++) {
            TargetResult tr = report.targets().get(t);
            for (int p = 0; p < tr.points().size(); p++) {
                PointResult pr = tr.points().get(p);
                double[] v = pr.requests().stream().filter(RequestRecord::ok).map(values).flatMapToDouble(Arrays::stream)
                        .filter(d -> !Double.isNaN(d)).sorted().toArray();
                if (v.length == 0) {
                    continue;
                }
                double[][] xy = cdfPoints(v);
                XYSeries s = c.addSeries(tr.target().name() + " " + pr.load().label(), xy[0], xy[1]);
                s.setMarker(SeriesMarkers.NONE);
                s.setLineColor(shade(t, p, tr.points().size()));
                s.setLineWidth(1.6f);
                s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Step);
            }
        }
        return c;
    }

    /**
     * The empirical CDF of sorted values: {@code (v[i], (i + 1) / n)}, thinned to at most
     * {@value #MAX_CDF_POINTS} evenly spaced ranks (the last always kept).
     */
    static double[][] cdfPoints(double[] sorted) {
        int n = sorted.length;
        int m = Math.min(n, MAX_CDF_POINTS);
        double[] x = new double[m];
        double[] y = new double[m];
        for (int k = 0; k < m; k++) {
            int i = m == n ? k : (int) Math.round((double) k * (n - 1) / (m - 1));
            x[k] = sorted[i];
            y[k] = (i + 1) / (double) n;
        }
        return new double[][] {x, y};
    }

    private record Metric(String suffix, ToDoubleFunction<PointSummary> value) {}

    private static XYChart vsLoad(ServeReport report, String title, String x, String y, List<Metric> metrics) {
        XYChart c = chart(title, x, y);
        c.getStyler().setYAxisMin(0.0);
        for (int t = 0; t < report.targets().size(); t++) {
            TargetResult tr = report.targets().get(t);
            for (int m = 0; m < metrics.size(); m++) {
                List<Double> xs = new ArrayList<>();
                List<Double> ys = new ArrayList<>();
                for (PointResult p : tr.points()) {
                    double v = metrics.get(m).value().applyAsDouble(p.summary());
                    if (!Double.isInfinite(p.load().value()) && !Double.isNaN(v)) {
                        xs.add(p.load().value());
                        ys.add(v);
                    }
                }
                if (xs.isEmpty()) {
                    continue;
                }
                XYSeries s = c.addSeries(tr.target().name() + metrics.get(m).suffix(), xs, ys);
                s.setLineColor(color(t));
                s.setMarkerColor(color(t));
                s.setMarker(m == 0 ? SeriesMarkers.CIRCLE : SeriesMarkers.SQUARE);
                if (m > 0) {
                    s.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                            new float[] {6f, 4f}, 0f));
                }
            }
        }
        return c;
    }

    /** Every target's points and frontier; the candidate points of one target, for tests. */
    static List<Pareto.Point> paretoPoints(TargetResult tr) {
        List<Pareto.Point> pts = new ArrayList<>();
        for (PointResult p : tr.points()) {
            pts.add(new Pareto.Point(p.summary().tokensPerSecondPerUser(), p.summary().outputTokensPerSecondPerNode(),
                    p.load().label()));
        }
        return pts;
    }

    private static XYChart pareto(ServeReport report) {
        XYChart c = chart("Throughput per node against speed per user", "tokens/s per user (1000 / mean TPOT)",
                "output tokens/s per node");
        c.getStyler().setXAxisMin(0.0).setYAxisMin(0.0);
        for (int t = 0; t < report.targets().size(); t++) {
            TargetResult tr = report.targets().get(t);
            List<Pareto.Point> pts = paretoPoints(tr).stream()
                    .filter(p -> !Double.isNaN(p.x()) && !Double.isNaN(p.y()) && !Double.isInfinite(p.x())).toList();
            if (pts.isEmpty()) {
                continue;
            }
            XYSeries all = c.addSeries(tr.target().name() + " points", pts.stream().map(Pareto.Point::x).toList(),
                    pts.stream().map(Pareto.Point::y).toList());
            all.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            all.setMarker(SeriesMarkers.CIRCLE);
            all.setMarkerColor(color(t));
            List<Pareto.Point> front = Pareto.frontier(pts);
            XYSeries f = c.addSeries(tr.target().name() + " frontier", front.stream().map(Pareto.Point::x).toList(),
                    front.stream().map(Pareto.Point::y).toList());
            f.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            f.setMarker(SeriesMarkers.DIAMOND); // a frontier of one point is drawn as its marker
            f.setMarkerColor(color(t));
            f.setLineColor(color(t));
            f.setLineWidth(2f);
        }
        return c;
    }

    /** Writes each chart as {@code NAME.png} and/or {@code NAME.svg} under {@code dir}; returns the files written. */
    public static List<Path> write(Map<String, XYChart> charts, Path dir, boolean png, boolean svg) throws IOException {
        List<Path> files = new ArrayList<>();
        for (Map.Entry<String, XYChart> e : charts.entrySet()) {
            if (png) {
                Path p = dir.resolve(e.getKey() + ".png");
                try (var out = java.nio.file.Files.newOutputStream(p)) {
                    ChartEncoder.saveChart(e.getValue(), out, "png");
                }
                files.add(p);
            }
            if (svg) {
                Path p = dir.resolve(e.getKey() + ".svg");
                java.nio.file.Files.writeString(p, svg(e.getValue()), StandardCharsets.UTF_8);
                files.add(p);
            }
        }
        return files;
    }

    /** The chart as an SVG document. */
    public static String svg(XYChart chart) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ChartEncoder.saveChart(chart, bytes, "svg");
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
