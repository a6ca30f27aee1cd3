package dev.baton.bench.serve.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ParetoTest {

    @Test
    void shouldKeepOnlyPointsNoOtherBeatsOnBothAxes() {
        Pareto.Point a = new Pareto.Point(10, 100, "a");
        Pareto.Point b = new Pareto.Point(20, 80, "b");
        Pareto.Point c = new Pareto.Point(15, 70, "c");   // beaten by b
        Pareto.Point d = new Pareto.Point(30, 20, "d");
        Pareto.Point e = new Pareto.Point(30, 10, "e");   // beaten by d (same x, lower y)
        Pareto.Point f = new Pareto.Point(10, 100, "f");  // equal to a: one kept
        Pareto.Point g = new Pareto.Point(Double.NaN, 500, "g");
        List<Pareto.Point> front = Pareto.frontier(List.of(d, c, b, e, a, f, g));
        assertEquals(List.of("a", "b", "d"), front.stream().map(Pareto.Point::label).toList());
    }
}
