package dev.baton.cli;

import com.typesafe.config.Config;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.model.DemoModel;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that load a model; flags override the configuration file. */
final class EngineOptions {

    @Option(names = "--model", paramLabel = "PATH", description = "GGUF model file (default: the embedded demo model); "
            + "the router takes it once per model it serves")
    java.util.List<Path> models = new java.util.ArrayList<>();

    @Option(names = "--config", paramLabel = "FILE", description = "configuration file (default: cluster.conf)")
    Path config;

    @Option(names = "--threads", paramLabel = "N", description = "compute threads (default: all cores)")
    Integer threads;

    @Option(names = "--kv-dtype", paramLabel = "F32|F16|Q8_0", description = "KV cache element type (default: F32; "
            + "Q8_0 needs a head dimension that is a multiple of 32)")
    String kvDtype;

    @Option(names = "--backend", paramLabel = "cpu|cuda", description = "the forward pass (default: cpu; cuda needs an "
            + "NVIDIA driver and a GPU of compute capability 9.0 or newer)")
    String backend;

    @Option(names = "--device", paramLabel = "N", description = "the GPU the cuda backend uses (default: 0)")
    Integer device;

    /** True when no model was given anywhere and the demo model is used. */
    boolean demo;

    /** The one {@code --model} given, or null; a command that loads one model refuses several. */
    Path model() {
        if (models.size() > 1) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--model is given " + models.size() + " times: only the router (and bin/baton up) serves several models");
        }
        return models.isEmpty() ? null : models.get(0);
    }

    EngineSettings settings() throws IOException {
        return settings(model());
    }

    /** The engine settings with {@code model} (null: the configuration's, or the demo model). */
    EngineSettings settings(Path model) throws IOException {
        Config cfg = BatonConfig.load(config);
        Path cacheDir = Path.of(cfg.getString("baton.engine.cache-dir"));
        Path fallback = model;
        if (fallback == null && cfg.getString("baton.engine.model").isBlank()) {
            demo = true;
            fallback = DemoModel.ensure(cacheDir);
        }
        EngineSettings s = EngineSettings.from(cfg, fallback);
        if (model != null) {
            s = s.withModel(model);
        }
        if (threads != null) {
            s = s.withThreads(threads);
        }
        if (kvDtype != null) {
            s = s.withKvDtype(switch (kvDtype.toUpperCase(java.util.Locale.ROOT)) {
                case "F32" -> dev.baton.engine.gguf.GgmlType.F32;
                case "F16" -> dev.baton.engine.gguf.GgmlType.F16;
                case "Q8_0" -> dev.baton.engine.gguf.GgmlType.Q8_0;
                default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--kv-dtype must be F32, F16 or Q8_0, got " + kvDtype);
            });
        }
        if (backend != null || device != null) {
            s = s.withBackend(backend == null ? s.backend() : backend.strip().toLowerCase(java.util.Locale.ROOT),
                    device == null ? s.device() : device);
        }
        return s.validate();
    }
}
