package dev.baton.bench.serve.report;

import dev.baton.bench.serve.ServeReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;

/**
 * Writes every output of a run into one directory: {@code results.json}, {@code summary.csv},
 * {@code requests.csv}, the charts ({@code *.png}, {@code *.svg}) and {@code report.html}.
 */
public final class ReportFiles {

    private ReportFiles() {}

    /**
     * Writes the outputs; creates {@code dir} if needed.
     *
     * @return the files written, in order
     * @throws IOException when a file cannot be written; chart rendering errors propagate too (a JDK
     *     without fonts), after the JSON and CSV files are on disk
     */
    public static List<Path> write(ServeReport report, Path dir, boolean png, boolean svg) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        Path json = dir.resolve("results.json");
        JsonReport.write(report, json);
        files.add(json);
        Path summary = dir.resolve("summary.csv");
        CsvReport.writeSummary(report, summary);
        files.add(summary);
        Path requests = dir.resolve("requests.csv");
        CsvReport.writeRequests(report, requests);
        files.add(requests);
        Map<String, XYChart> charts = Charts.build(report);
        files.addAll(Charts.write(charts, dir, png, svg));
        Path html = dir.resolve("report.html");
        HtmlReport.write(report, charts, html);
        files.add(html);
        return files;
    }
}
