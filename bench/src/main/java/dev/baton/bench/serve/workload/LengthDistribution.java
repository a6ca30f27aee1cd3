package dev.baton.bench.serve.workload;

import java.util.random.RandomGenerator;

/**
 * A distribution of token lengths (input or output), sampled with a seeded generator and rounded to a
 * whole number of at least 1.
 *
 * <p>Written as {@code 720} or {@code fixed:720}, {@code uniform:MIN:MAX} (both included),
 * {@code normal:MEAN:STD} and {@code lognormal:MEAN:STD} (the mean and standard deviation of the lengths
 * themselves, not of their logarithm).
 */
public sealed interface LengthDistribution {

    /** One length, at least 1. */
    int sample(RandomGenerator rng);

    /** The mean length (before rounding and clamping). */
    double mean();

    /** Always {@code n}. */
    record Fixed(int n) implements LengthDistribution {
        public Fixed {
            if (n < 1) {
                throw new IllegalArgumentException("length " + n + " must be at least 1");
            }
        }

        @Override
        public int sample(RandomGenerator rng) {
            return n;
        }

        @Override
        public double mean() {
            return n;
        }

        @Override
        public String toString() {
            return Integer.toString(n);
        }
    }

    /** Uniform over {@code [min, max]}. */
    record Uniform(int min, int max) implements LengthDistribution {
        public Uniform {
            if (min < 1 || max < min) {
                throw new IllegalArgumentException("uniform:" + min + ":" + max + " needs 1 <= MIN <= MAX");
            }
        }

        @Override
        public int sample(RandomGenerator rng) {
            return rng.nextInt(min, max + 1);
        }

        @Override
        public double mean() {
            return (min + max) / 2.0;
        }

        @Override
        public String toString() {
            return "uniform:" + min + ":" + max;
        }
    }

    /** Normal with the given mean and standard deviation, rounded, at least 1. */
    record Normal(double mean, double std) implements LengthDistribution {
        public Normal {
            if (!(mean >= 1) || !(std >= 0)) {
                throw new IllegalArgumentException("normal:" + mean + ":" + std + " needs MEAN >= 1 and STD >= 0");
            }
        }

        @Override
        public int sample(RandomGenerator rng) {
            return clamp(mean + std * rng.nextGaussian());
        }

        @Override
        public String toString() {
            return "normal:" + mean + ":" + std;
        }
    }

    /**
     * Log-normal whose lengths have the given mean and standard deviation: the logarithm is normal with
     * {@code sigma^2 = ln(1 + std^2 / mean^2)} and {@code mu = ln(mean) - sigma^2 / 2}.
     */
    record LogNormal(double mean, double std) implements LengthDistribution {
        public LogNormal {
            if (!(mean >= 1) || !(std >= 0)) {
                throw new IllegalArgumentException("lognormal:" + mean + ":" + std + " needs MEAN >= 1 and STD >= 0");
            }
        }

        @Override
        public int sample(RandomGenerator rng) {
            double s2 = Math.log(1 + std * std / (mean * mean));
            double mu = Math.log(mean) - s2 / 2;
            return clamp(Math.exp(mu + Math.sqrt(s2) * rng.nextGaussian()));
        }

        @Override
        public String toString() {
            return "lognormal:" + mean + ":" + std;
        }
    }

    private static int clamp(double v) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE / 2, Math.round(v)));
    }

    /**
     * Parses a distribution written as described above.
     *
     * @param what names the option in the error message
     */
    static LengthDistribution parse(String spec, String what) {
        String[] p = spec.trim().split(":");
        try {
            return switch (p[0]) {
                case "fixed" -> {
                    need(p, 2, spec, what, "fixed:N");
                    yield new Fixed(Integer.parseInt(p[1]));
                }
                case "uniform" -> {
                    need(p, 3, spec, what, "uniform:MIN:MAX");
                    yield new Uniform(Integer.parseInt(p[1]), Integer.parseInt(p[2]));
                }
                case "normal" -> {
                    need(p, 3, spec, what, "normal:MEAN:STD");
                    yield new Normal(Double.parseDouble(p[1]), Double.parseDouble(p[2]));
                }
                case "lognormal" -> {
                    need(p, 3, spec, what, "lognormal:MEAN:STD");
                    yield new LogNormal(Double.parseDouble(p[1]), Double.parseDouble(p[2]));
                }
                default -> {
                    need(p, 1, spec, what, "N");
                    yield new Fixed(Integer.parseInt(p[0]));
                }
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": \"" + spec + "\" has a number that does not parse "
                    + "(expected N, uniform:MIN:MAX, normal:MEAN:STD or lognormal:MEAN:STD)");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }

    private static void need(String[] parts, int n, String spec, String what, String form) {
        if (parts.length != n) {
            throw new IllegalArgumentException("\"" + spec + "\" is not of the form " + form);
        }
    }
}
