package dev.baton.cli.planner;

import com.typesafe.config.ConfigException;
import dev.baton.planner.PlannerConfigException;
import java.util.function.Supplier;

/** Reads one {@code baton.planner.<connector>} key, turning any failure into a {@link PlannerConfigException} naming it. */
final class ConnectorConfig {

    private ConnectorConfig() {}

    /** {@code read}'s value; a {@link ConfigException} or {@link RuntimeException} becomes "KEY: reason". */
    static <T> T key(String key, Supplier<T> read) {
        try {
            return read.get();
        } catch (PlannerConfigException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new PlannerConfigException(key + ": " + e.getMessage(), e);
        }
    }
}
