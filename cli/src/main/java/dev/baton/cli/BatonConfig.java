package dev.baton.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.baton.engine.EngineException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads the configuration every command reads: {@code --config FILE} if given, else
 * {@code cluster.conf} in the Baton home directory, over the modules' {@code reference.conf} defaults.
 */
final class BatonConfig {

    /**
     * Pekko refuses to start when its modules' versions differ, and Maven Central has no pekko-discovery
     * at the core version (1.7.0; its newest is 1.2.1, which Cluster Bootstrap needs, see the parent pom).
     * With the check off Pekko logs one warning naming pekko-discovery instead. A cluster.conf may set it.
     */
    private static final Config PEKKO_VERSIONS = ConfigFactory.parseString("pekko.fail-mixed-versions = off");

    private BatonConfig() {}

    static Config load(Path explicit) {
        Path file = explicit;
        if (file == null) {
            String home = System.getProperty("baton.home");
            Path candidate = Path.of(home == null ? "." : home).resolve("cluster.conf");
            file = Files.isRegularFile(candidate) ? candidate : null;
        } else if (!Files.isRegularFile(file)) {
            throw new EngineException("config file not found: " + file);
        }
        Config base = PEKKO_VERSIONS.withFallback(ConfigFactory.defaultReference());
        if (file == null) {
            return base.resolve();
        }
        try {
            return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false))
                    .withFallback(base).resolve();
        } catch (com.typesafe.config.ConfigException e) {
            throw new EngineException("config file " + file + ": " + e.getMessage(), e);
        }
    }
}
