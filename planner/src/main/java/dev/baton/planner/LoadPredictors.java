package dev.baton.planner;

import com.typesafe.config.Config;
import java.lang.reflect.InvocationTargetException;
import java.util.Locale;

/** The predictors that come with Baton, and the factory behind {@code baton.planner.predictor}. */
public final class LoadPredictors {

    private LoadPredictors() {}

    /** The predictor of the {@code predictor} block: {@code kind} and its parameters. */
    public static LoadPredictor create(Config block) {
        String kind = block.getString("kind").trim();
        double alpha = block.hasPath("alpha") ? block.getDouble("alpha") : 0.5;
        double beta = block.hasPath("beta") ? block.getDouble("beta") : 0.3;
        return switch (kind.toLowerCase(Locale.ROOT)) {
            case "holt" -> new Holt(alpha, beta);
            case "ewma" -> new Ewma(alpha);
            case "last" -> new Ewma(1);
            default -> custom(kind, block);
        };
    }

    private static LoadPredictor custom(String className, Config block) {
        try {
            Class<?> type = Class.forName(className);
            if (!LoadPredictor.class.isAssignableFrom(type)) {
                throw new IllegalArgumentException(className + " does not implement " + LoadPredictor.class.getName());
            }
            return (LoadPredictor) type.getConstructor(Config.class).newInstance(block);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("kind '" + className + "' is not holt, ewma, last or a class on the class path", e);
        } catch (NoSuchMethodException | InstantiationException | IllegalAccessException e) {
            throw new IllegalArgumentException(className + " needs a public constructor taking a com.typesafe.config.Config", e);
        } catch (InvocationTargetException e) {
            throw new IllegalArgumentException(className + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    private static void weight(double w, String name) {
        if (!(w > 0 && w <= 1)) {
            throw new IllegalArgumentException(name + " " + w + " must be in (0, 1]");
        }
    }

    /**
     * Exponentially weighted moving average of each figure: {@code level = alpha * observed + (1 - alpha) * level}.
     * With {@code alpha = 1} it predicts the last interval.
     */
    public record Ewma(double alpha, Load level, boolean seen) implements LoadPredictor {

        public Ewma(double alpha) {
            this(alpha, Load.ZERO, false);
        }

        public Ewma {
            weight(alpha, "alpha");
        }

        @Override
        public LoadPredictor observe(Load observed) {
            Load o = observed.withLengthsOf(level);
            if (!seen) {
                return new Ewma(alpha, o, true);
            }
            return new Ewma(alpha, new Load(mix(o.requestRate(), level.requestRate()), mix(o.promptTokens(), level.promptTokens()),
                    mix(o.effectivePromptTokens(), level.effectivePromptTokens()),
                    mix(o.effectivePromptTokensHi(), level.effectivePromptTokensHi()), mix(o.outputTokens(), level.outputTokens())),
                    true);
        }

        private double mix(double now, double before) {
            double v = alpha * now + (1 - alpha) * before;
            return v < 1e-9 ? 0 : v; // decays to exactly zero: zero traffic is zero load
        }

        @Override
        public Load forecast() {
            return level;
        }

        @Override
        public String name() {
            return alpha == 1 ? "last" : "ewma";
        }
    }

    /**
     * Holt's linear trend on the request rate (level and trend, so a ramp is followed rather than lagged),
     * EWMA on the lengths. The forecast is one interval ahead, floored at zero; while the observed rate is
     * zero the trend is dropped, so an idle cluster forecasts zero.
     */
    public record Holt(double alpha, double beta, double rateLevel, double rateTrend, Ewma lengths, int seen)
            implements LoadPredictor {

        public Holt(double alpha, double beta) {
            this(alpha, beta, 0, 0, new Ewma(alpha), 0);
        }

        public Holt {
            weight(alpha, "alpha");
            weight(beta, "beta");
        }

        @Override
        public LoadPredictor observe(Load observed) {
            Ewma l = (Ewma) lengths.observe(observed);
            double x = observed.requestRate();
            if (seen == 0) {
                return new Holt(alpha, beta, x, 0, l, 1);
            }
            if (x == 0) {
                return new Holt(alpha, beta, 0, 0, l, seen + 1);
            }
            double level = alpha * x + (1 - alpha) * (rateLevel + rateTrend);
            double trend = seen == 1 ? x - rateLevel : beta * (level - rateLevel) + (1 - beta) * rateTrend;
            return new Holt(alpha, beta, Math.max(0, level), trend, l, seen + 1);
        }

        @Override
        public Load forecast() {
            Load len = lengths.level();
            double rate = Math.max(0, rateLevel + rateTrend);
            return new Load(rate, len.promptTokens(), len.effectivePromptTokens(), len.effectivePromptTokensHi(), len.outputTokens());
        }

        @Override
        public String name() {
            return "holt";
        }
    }

    /** The predictor's kind as given, lower case (for explanations). */
    static String kind(Config block) {
        return block.getString("kind").trim().toLowerCase(Locale.ROOT);
    }
}
