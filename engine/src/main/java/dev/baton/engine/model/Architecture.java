package dev.baton.engine.model;

/** The model families the engine runs, by their {@code general.architecture} name. */
public enum Architecture {
    /** Llama 1/2/3 and Mistral-style models: adjacent-pair RoPE, optional {@code rope_freqs}. */
    LLAMA("llama", RopeStyle.ADJACENT_PAIRS, false),
    /** Qwen2: Q/K/V biases and NeoX (half-split) RoPE. */
    QWEN2("qwen2", RopeStyle.NEOX, true);

    /** How RoPE pairs up the elements of a head. */
    public enum RopeStyle {
        /** Rotates {@code (x[2i], x[2i+1])}. */
        ADJACENT_PAIRS,
        /** Rotates {@code (x[i], x[i + headDim/2])}. */
        NEOX
    }

    public final String ggufName;
    public final RopeStyle ropeStyle;
    public final boolean qkvBias;

    Architecture(String ggufName, RopeStyle ropeStyle, boolean qkvBias) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.qkvBias = qkvBias;
    }

    /** The architecture called {@code name}, or a {@link ModelFormatException} listing those supported. */
    public static Architecture of(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new ModelFormatException("unsupported model architecture '" + name
                + "' (general.architecture); supported: llama, qwen2");
    }
}
