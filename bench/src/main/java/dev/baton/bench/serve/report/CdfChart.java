package dev.baton.bench.serve.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * One latency CDF drawn from the {@code results.json} of several runs (one line per run and load
 * point), for comparing runs that could not share one {@code --compare} (clusters that cannot be up
 * at once). Reads only the per-request records the JSON report writes.
 */
public final class CdfChart {

    static {
        System.setProperty("java.awt.headless", "true");
    }

    private CdfChart() {}

    /**
     * Draws the CDF of {@code metric} (a request record field such as {@code ttftMs} or {@code e2eMs})
     * of the completed requests of each run, labelled by the map's keys, to a PNG file.
     */
    public static void write(Map<String, Path> runs, String metric, boolean logX, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(520).title(metric + " by run")
                .xAxisTitle(metric + (logX ? " (log scale)" : "")).yAxisTitle("share of requests").build();
        chart.getStyler().setXAxisLogarithmic(logX);
        ObjectMapper json = new ObjectMapper();
        for (Map.Entry<String, Path> run : runs.entrySet()) {
            JsonNode root = json.readTree(run.getValue().toFile());
            for (JsonNode target : root.path("results")) {
                for (JsonNode point : target.path("points")) {
                    List<Double> values = new ArrayList<>();
                    for (JsonNode r : point.path("requests")) {
                        if (r.path("ok").asBoolean() && r.hasNonNull(metric)) {
                            values.add(r.get(metric).asDouble());
                        }
                    }
                    if (values.isEmpty()) {
                        continue;
                    }
                    values.sort(null);
                    double[][] xy = Charts.cdfPoints(values.stream().mapToDouble(Double::doubleValue).toArray());
                    String label = root.path("results").size() * target.path("points").size() > 1
                            ? run.getKey() + " " + point.path("load").asText() : run.getKey();
                    chart.addSeries(label, xy[0], xy[1]).setMarker(SeriesMarkers.NONE);
                }
            }
        }
        if (chart.getSeriesCollection().isEmpty()) {
            throw new IOException("no completed request with a " + metric + " in " + runs.values());
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
