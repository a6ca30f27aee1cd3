package dev.baton.engine.spec;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.baton.engine.EngineException;

/**
 * Speculative decoding of an engine loop ({@code baton.engine.speculation}).
 *
 * @param mode        where drafts come from
 * @param draftTokens the most draft tokens one sequence puts into one step (k; a step emits up to k + 1 tokens)
 * @param ngramMin    prompt lookup: the shortest suffix n-gram that may match
 * @param ngramMax    prompt lookup: the longest suffix n-gram tried first
 */
public record SpeculationSettings(Mode mode, int draftTokens, int ngramMin, int ngramMax) {

    /** The most draft tokens per sequence and step this accepts. */
    public static final int MAX_DRAFT_TOKENS = 32;

    /** Where drafts come from. */
    public enum Mode {
        /** No speculation: one token per sequence and step. */
        OFF,
        /** n-gram drafts from the sequence's own tokens ({@link PromptLookup}). */
        PROMPT_LOOKUP
    }

    /** The defaults of reference.conf: prompt lookup, 4 draft tokens, n-grams of 2 to 4 tokens. */
    public static SpeculationSettings defaults() {
        return new SpeculationSettings(Mode.PROMPT_LOOKUP, 4, 2, 4);
    }

    /** No speculation. */
    public static SpeculationSettings off() {
        return new SpeculationSettings(Mode.OFF, 4, 2, 4);
    }

    /** Prompt lookup with {@code k} draft tokens and n-grams of {@code ngramMin} to {@code ngramMax} tokens. */
    public static SpeculationSettings promptLookup(int k, int ngramMin, int ngramMax) {
        return new SpeculationSettings(Mode.PROMPT_LOOKUP, k, ngramMin, ngramMax).validate();
    }

    /** Reads {@code baton.engine.speculation}; errors name the key. */
    public static SpeculationSettings from(Config root) {
        String p = "baton.engine.speculation.";
        try {
            String mode = root.getString(p + "mode");
            Mode m = switch (mode) {
                case "off" -> Mode.OFF;
                case "prompt-lookup" -> Mode.PROMPT_LOOKUP;
                default -> throw new EngineException(p + "mode = " + mode + ": must be off or prompt-lookup");
            };
            SpeculationSettings s = new SpeculationSettings(m, root.getInt(p + "draft-tokens"),
                    root.getInt(p + "ngram-min"), root.getInt(p + "ngram-max"));
            return s.validate();
        } catch (ConfigException e) {
            throw new EngineException("configuration: " + e.getMessage(), e);
        }
    }

    public SpeculationSettings validate() {
        if (draftTokens < 1 || draftTokens > MAX_DRAFT_TOKENS) {
            throw new EngineException("baton.engine.speculation.draft-tokens = " + draftTokens + ": must be 1.."
                    + MAX_DRAFT_TOKENS);
        }
        if (ngramMin < 1 || ngramMax < ngramMin || ngramMax > 64) {
            throw new EngineException("baton.engine.speculation.ngram-min = " + ngramMin + ", ngram-max = " + ngramMax
                    + ": must satisfy 1 <= ngram-min <= ngram-max <= 64");
        }
        return this;
    }

    public boolean enabled() {
        return mode != Mode.OFF;
    }

    /** The drafter these settings describe, or null when speculation is off. */
    public Drafter newDrafter() {
        return switch (mode) {
            case OFF -> null;
            case PROMPT_LOOKUP -> new PromptLookup(ngramMin, ngramMax);
        };
    }
}
