package dev.baton.cli;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A node's metrics and health port: {@code GET /metrics} in Prometheus text format, {@code GET /alive}
 * (200 while the process runs) and {@code GET /ready} (200 while the node serves; 503 with the reason while
 * it starts, drains or stops, or while its engine loop is stuck). The JDK's HTTP server is enough for one scrape every few seconds and keeps
 * nodes free of the router's HTTP stack.
 */
final class NodeMetricsServer implements AutoCloseable {

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpServer server;

    NodeMetricsServer(String host, int port, NodeHealth health) throws IOException {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        server = HttpServer.create(new InetSocketAddress(host, port), 8);
        server.createContext("/metrics", exchange -> {
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(body);
            }
        });
        server.createContext("/alive", exchange -> answer(exchange, 200, "{\"status\":\"alive\"}"));
        server.createContext("/ready", exchange -> {
            NodeHealth.Verdict v = health.verdict();
            answer(exchange, v.ready() ? 200 : 503, "{\"status\":\"" + v.status() + "\",\"reason\":\"" + v.reason() + "\"}");
        });
        server.start();
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream os = exchange.getResponseBody()) {
            os.write(body);
        }
    }

    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        registry.close();
    }
}
