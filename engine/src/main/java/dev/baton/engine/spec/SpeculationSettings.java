package dev.baton.engine.spec;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.baton.engine.Engine;
import dev.baton.engine.EngineException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Speculative decoding of an engine loop ({@code baton.engine.speculation}).
 *
 * @param mode        where drafts come from
 * @param draftTokens the most draft tokens one sequence puts into one step (k; a step emits up to k + 1 tokens)
 * @param ngramMin    prompt lookup: the shortest suffix n-gram that may match
 * @param ngramMax    prompt lookup: the longest suffix n-gram tried first
 * @param draftModel  draft model mode: the GGUF file that drafts (the target's vocabulary); null otherwise
 * @param draftKvCacheBytes draft model mode: the draft model's own KV pool
 */
public record SpeculationSettings(Mode mode, int draftTokens, int ngramMin, int ngramMax, Path draftModel,
        long draftKvCacheBytes) {

    /** The draft model's KV pool unless configured: 64 MiB. */
    public static final long DEFAULT_DRAFT_KV_CACHE_BYTES = 64L << 20;

    /** The most draft tokens per sequence and step this accepts. */
    public static final int MAX_DRAFT_TOKENS = 32;

    /** Where drafts come from. */
    public enum Mode {
        /** No speculation: one token per sequence and step. */
        OFF,
        /** n-gram drafts from the sequence's own tokens ({@link PromptLookup}). */
        PROMPT_LOOKUP,
        /** Greedy drafts of a second, smaller model with the same vocabulary ({@link DraftModel}). */
        DRAFT_MODEL
    }

    /** The defaults of reference.conf: prompt lookup, 4 draft tokens, n-grams of 2 to 4 tokens. */
    public static SpeculationSettings defaults() {
        return new SpeculationSettings(Mode.PROMPT_LOOKUP, 4, 2, 4, null, DEFAULT_DRAFT_KV_CACHE_BYTES);
    }

    /** No speculation. */
    public static SpeculationSettings off() {
        return new SpeculationSettings(Mode.OFF, 4, 2, 4, null, DEFAULT_DRAFT_KV_CACHE_BYTES);
    }

    /** Prompt lookup with {@code k} draft tokens and n-grams of {@code ngramMin} to {@code ngramMax} tokens. */
    public static SpeculationSettings promptLookup(int k, int ngramMin, int ngramMax) {
        return new SpeculationSettings(Mode.PROMPT_LOOKUP, k, ngramMin, ngramMax, null, DEFAULT_DRAFT_KV_CACHE_BYTES)
                .validate();
    }

    /** Drafts of up to {@code k} tokens from the model at {@code path} (the default draft KV pool). */
    public static SpeculationSettings draftModel(Path path, int k) {
        return new SpeculationSettings(Mode.DRAFT_MODEL, k, 2, 4, path, DEFAULT_DRAFT_KV_CACHE_BYTES).validate();
    }

    /** These settings drafting with the model at {@code path}: draft model mode. */
    public SpeculationSettings withDraftModel(Path path) {
        return new SpeculationSettings(Mode.DRAFT_MODEL, draftTokens, ngramMin, ngramMax, path, draftKvCacheBytes)
                .validate();
    }

    /** Reads {@code baton.engine.speculation}; errors name the key. */
    public static SpeculationSettings from(Config root) {
        String p = "baton.engine.speculation.";
        try {
            String mode = root.getString(p + "mode");
            Mode m = switch (mode) {
                case "off" -> Mode.OFF;
                case "prompt-lookup" -> Mode.PROMPT_LOOKUP;
                case "draft-model" -> Mode.DRAFT_MODEL;
                default -> throw new EngineException(p + "mode = " + mode
                        + ": must be off, prompt-lookup or draft-model");
            };
            String draft = root.getString(p + "draft-model");
            SpeculationSettings s = new SpeculationSettings(m, root.getInt(p + "draft-tokens"),
                    root.getInt(p + "ngram-min"), root.getInt(p + "ngram-max"), draft.isBlank() ? null : Path.of(draft),
                    root.getBytes(p + "draft-kv-cache").longValue());
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
        if (mode == Mode.DRAFT_MODEL) {
            if (draftModel == null) {
                throw new EngineException("baton.engine.speculation.mode = draft-model needs "
                        + "baton.engine.speculation.draft-model (or --draft-model): the GGUF file that drafts");
            }
            if (!Files.isRegularFile(draftModel)) {
                throw new EngineException("baton.engine.speculation.draft-model = " + draftModel + ": no such file");
            }
            if (draftKvCacheBytes < 1L << 20) {
                throw new EngineException("baton.engine.speculation.draft-kv-cache = " + draftKvCacheBytes
                        + " bytes: must be at least 1 MiB");
            }
        }
        return this;
    }

    /** For logs: what drafts and how many tokens. */
    public String describe() {
        return switch (mode) {
            case OFF -> "off";
            case PROMPT_LOOKUP -> "prompt lookup (up to " + draftTokens + " tokens, n-grams " + ngramMin + ".."
                    + ngramMax + ")";
            case DRAFT_MODEL -> "draft model " + draftModel + " (up to " + draftTokens + " tokens)";
        };
    }

    public boolean enabled() {
        return mode != Mode.OFF;
    }

    /**
     * The drafter these settings describe for a loop running {@code target}, or null when speculation is off. A
     * draft model is opened here (the caller closes it, it is {@link AutoCloseable}); a file that cannot draft for
     * the target throws an {@link EngineException} naming why.
     */
    public Drafter newDrafter(Engine target) {
        return switch (mode) {
            case OFF -> null;
            case PROMPT_LOOKUP -> new PromptLookup(ngramMin, ngramMax);
            case DRAFT_MODEL -> DraftModel.open(draftModel, draftKvCacheBytes, target);
        };
    }
}
