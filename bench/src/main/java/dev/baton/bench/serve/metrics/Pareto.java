package dev.baton.bench.serve.metrics;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The Pareto frontier of points where both coordinates are better when larger (for serving: tokens/s per
 * user against output tokens/s per node). A point is on the frontier when no other point is at least as
 * good on both axes and strictly better on one; of equal points one is kept.
 */
public final class Pareto {

    /** One candidate, with the label of the sweep point it came from. */
    public record Point(double x, double y, String label) {}

    private Pareto() {}

    /** The frontier, sorted by {@code x} ascending (so {@code y} descends). Points with a NaN coordinate are skipped. */
    public static List<Point> frontier(List<Point> points) {
        List<Point> out = new ArrayList<>();
        for (Point p : points) {
            if (Double.isNaN(p.x()) || Double.isNaN(p.y())) {
                continue;
            }
            boolean dominated = false;
            for (Point q : points) {
                if (q != p && !Double.isNaN(q.x()) && !Double.isNaN(q.y()) && q.x() >= p.x() && q.y() >= p.y()
                        && (q.x() > p.x() || q.y() > p.y())) {
                    dominated = true;
                    break;
                }
            }
            boolean duplicate = out.stream().anyMatch(o -> o.x() == p.x() && o.y() == p.y());
            if (!dominated && !duplicate) {
                out.add(p);
            }
        }
        out.sort(Comparator.comparingDouble(Point::x));
        return out;
    }
}
