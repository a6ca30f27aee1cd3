package dev.baton.bench.serve.load;

import java.util.Locale;

/** How requests are offered to a target at one point of a sweep. */
public sealed interface LoadSpec {

    /** A label for tables and file names: {@code rate=2/s}, {@code rate=inf}, {@code concurrency=4}. */
    String label();

    /** The offered load as a number (requests per second, or clients), the x axis of load charts. */
    double value();

    /**
     * Open-loop arrivals at {@code perSecond} requests per second (sessions per second for multi-turn
     * workloads), Poisson when {@code burstiness} is 1; gamma-distributed gaps otherwise (burstier below 1,
     * more regular above). {@code perSecond} may be infinite: everything is sent at once.
     */
    record Rate(double perSecond, double burstiness) implements LoadSpec {
        public Rate {
            if (!(perSecond > 0)) {
                throw new IllegalArgumentException("--rate " + perSecond + " must be positive (or inf)");
            }
            if (!(burstiness > 0) || Double.isInfinite(burstiness)) {
                throw new IllegalArgumentException("--burstiness " + burstiness + " must be positive");
            }
        }

        @Override
        public String label() {
            return Double.isInfinite(perSecond) ? "rate=inf" : "rate=" + number(perSecond) + "/s";
        }

        @Override
        public double value() {
            return perSecond;
        }
    }

    /** Closed loop: {@code clients} clients, each sending its next request when the previous one ends. */
    record Concurrency(int clients) implements LoadSpec {
        public Concurrency {
            if (clients < 1) {
                throw new IllegalArgumentException("--concurrency " + clients + " must be at least 1");
            }
        }

        @Override
        public String label() {
            return "concurrency=" + clients;
        }

        @Override
        public double value() {
            return clients;
        }
    }

    /** Parses one rate: a positive number or {@code inf}. */
    static Rate parseRate(String s, double burstiness) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        if (v.equals("inf") || v.equals("infinity")) {
            return new Rate(Double.POSITIVE_INFINITY, burstiness);
        }
        try {
            return new Rate(Double.parseDouble(v), burstiness);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rate: \"" + s + "\" is not a number of requests per second (or inf)");
        }
    }

    private static String number(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
