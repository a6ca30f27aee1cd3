package dev.baton.cli.planner;

import java.nio.file.Path;
import java.util.List;

/**
 * What the router process knows that a connector needs to start nodes like itself. Built by the router command
 * from its own flags and configuration; immutable.
 *
 * @param seeds   the seed nodes the router joined, {@code HOST:PORT} each (its {@code --seed} flags); nodes the
 *                local connector starts join the same ones
 * @param host    the address the router advertises ({@code --host}), or null for the configured default; started
 *                local nodes advertise the same address, so that nodes on other hosts reach them as they reach the router
 * @param model   the GGUF model the router was given ({@code --model}), or null for the embedded demo model
 * @param config  the configuration file the router read ({@code --config}), or null for none (cluster.conf in home)
 * @param threads the router's {@code --threads}, or null; the local connector passes it on unless
 *                {@code baton.planner.local.threads} is set
 * @param home    the Baton home ({@code -Dbaton.home}, where {@code bin/baton} is): the local connector's default run
 *                directory is {@code <home>/run/current}, the one {@code bin/baton down} stops
 */
public record ConnectorContext(List<String> seeds, String host, Path model, Path config, Integer threads, Path home) {

    public ConnectorContext {
        seeds = List.copyOf(seeds);
        if (home == null) {
            throw new IllegalArgumentException("home must be given (the Baton home, -Dbaton.home)");
        }
        model = model == null ? null : model.toAbsolutePath();
        config = config == null ? null : config.toAbsolutePath();
        home = home.toAbsolutePath().normalize();
    }

    /**
     * The options every node started on this host takes from the router: {@code --seed}s, {@code --host},
     * {@code --model}, {@code --config}, in that order.
     */
    List<String> nodeArguments() {
        List<String> a = new java.util.ArrayList<>();
        for (String s : seeds) {
            a.addAll(List.of("--seed", s));
        }
        if (host != null) {
            a.addAll(List.of("--host", host));
        }
        if (model != null) {
            a.addAll(List.of("--model", model.toString()));
        }
        if (config != null) {
            a.addAll(List.of("--config", config.toString()));
        }
        return a;
    }
}
