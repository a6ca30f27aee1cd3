package dev.baton.bench.serve;

import dev.baton.bench.serve.client.Target;
import java.util.List;

/** Every load point of one target, in sweep order, and the model its requests named. */
public record TargetResult(Target target, String model, List<PointResult> points) {

    public TargetResult {
        points = List.copyOf(points);
    }
}
