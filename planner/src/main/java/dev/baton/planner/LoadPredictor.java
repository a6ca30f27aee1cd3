package dev.baton.planner;

/**
 * Predicts next interval's load from the intervals seen so far. Immutable: {@link #observe} returns the
 * predictor that has seen one more interval, so a planner state that holds one stays a value (the decision
 * function is pure). Implementations must never predict NaN or a negative load; zero traffic must lead to
 * a prediction of zero.
 *
 * <p>Pluggable through {@code baton.planner.predictor.kind}: the name of a class implementing this
 * interface with a public constructor taking the {@code predictor} block as a {@code com.typesafe.config.Config}.
 */
public interface LoadPredictor {

    /** The predictor after one more interval with load {@code observed}. */
    LoadPredictor observe(Load observed);

    /** The load expected over the next interval ({@link Load#ZERO} before any interval). */
    Load forecast();

    /** A short name for explanations ({@code holt}, {@code ewma}, ...). */
    String name();
}
