package dev.baton.bench.serve.client;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * One OpenAI-compatible endpoint to benchmark.
 *
 * @param name the label in tables, charts and file names
 * @param baseUrl the API base, ending in {@code /v1} (the request paths {@code completions} and
 *     {@code chat/completions} are resolved against it)
 * @param model the {@code model} field of requests; null to use the first one {@code GET /models} lists
 * @param nodes how many nodes (or GPUs) serve this target, to report throughput per node; at least 1
 * @param apiKey sent as {@code Authorization: Bearer}; null for none
 */
public record Target(String name, URI baseUrl, String model, int nodes, String apiKey) {

    public Target {
        if (nodes < 1) {
            throw new IllegalArgumentException("target " + name + ": nodes=" + nodes + " must be at least 1");
        }
    }

    /**
     * Parses {@code [NAME=]URL[,nodes=N][,model=M][,api-key=K]}, for example
     * {@code baton=http://127.0.0.1:8080/v1,nodes=3}. A URL with no path gets {@code /v1}; the name defaults to
     * {@code host:port}.
     *
     * @throws IllegalArgumentException naming the part that does not parse
     */
    public static Target parse(String spec) {
        String[] parts = spec.trim().split(",");
        String first = parts[0].trim();
        String name = null;
        int eq = first.indexOf('=');
        if (eq > 0 && !first.substring(0, eq).contains(":") && !first.substring(0, eq).contains("/")) {
            name = first.substring(0, eq);
            first = first.substring(eq + 1);
        }
        URI uri;
        try {
            uri = new URI(first);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--target: \"" + first + "\" is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new IllegalArgumentException("--target: \"" + first + "\" is not an http(s) URL with a host "
                    + "(e.g. http://127.0.0.1:8080/v1)");
        }
        String path = uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/") ? "/v1" : uri.getPath();
        if (!path.endsWith("/")) {
            path = path + "/";
        }
        URI base = URI.create(scheme + "://" + uri.getRawAuthority() + path);
        int nodes = 1;
        String model = null;
        String key = null;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            int e = p.indexOf('=');
            if (e <= 0) {
                throw new IllegalArgumentException("--target: \"" + p + "\" is not KEY=VALUE (nodes, model or api-key)");
            }
            String k = p.substring(0, e).trim();
            String v = p.substring(e + 1).trim();
            switch (k) {
                case "nodes" -> {
                    try {
                        nodes = Integer.parseInt(v);
                    } catch (NumberFormatException ex) {
                        throw new IllegalArgumentException("--target: nodes=\"" + v + "\" is not a whole number");
                    }
                }
                case "model" -> model = v;
                case "api-key" -> key = v;
                case "name" -> name = v;
                default -> throw new IllegalArgumentException("--target: unknown key \"" + k + "\" (expected nodes, model, api-key or name)");
            }
        }
        if (name == null) {
            name = uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
        }
        return new Target(name, base, model, nodes, key);
    }

    /** This target with {@code model} set. */
    public Target withModel(String model) {
        return new Target(name, baseUrl, model, nodes, apiKey);
    }

    @Override
    public String toString() {
        return name + " (" + baseUrl + (model == null ? "" : ", model " + model) + (nodes == 1 ? "" : ", " + nodes + " nodes") + ")";
    }
}
