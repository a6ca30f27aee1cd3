package dev.baton.engine.gguf;

import java.util.Collections;
import java.util.Map;

/**
 * The key/value metadata of a GGUF file, with typed accessors that fail with the key's name.
 *
 * <p>Values are held as: integers of every width as {@code Long} (unsigned ones by value), floats as
 * {@code Double}, {@code Boolean}, {@code String}; arrays as {@code long[]}, {@code float[]},
 * {@code double[]}, {@code boolean[]}, {@code String[]}, or {@code Object[]} of arrays.
 */
public final class GgufMetadata {

    /** One entry; {@code elementType} is set for arrays only. */
    public record Entry(String key, GgufValueType type, GgufValueType elementType, Object value) {}

    private final String source;
    private final Map<String, Entry> entries;

    public GgufMetadata(String source, Map<String, Entry> entries) {
        this.source = source;
        this.entries = Collections.unmodifiableMap(entries);
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public boolean has(String key) {
        return entries.containsKey(key);
    }

    public Object get(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            throw new GgufFormatException(source + ": missing metadata key '" + key + "'");
        }
        return e.value();
    }

    public long getLong(String key) {
        Object v = get(key);
        if (v instanceof Long l) {
            return l;
        }
        throw wrongType(key, "an integer", v);
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new GgufFormatException(source + ": metadata '" + key + "' = " + v + " does not fit an int");
        }
        return (int) v;
    }

    public int getInt(String key, int defaultValue) {
        return has(key) ? getInt(key) : defaultValue;
    }

    public float getFloat(String key) {
        Object v = get(key);
        if (v instanceof Double d) {
            return d.floatValue();
        }
        if (v instanceof Long l) {
            return l;
        }
        throw wrongType(key, "a number", v);
    }

    public float getFloat(String key, float defaultValue) {
        return has(key) ? getFloat(key) : defaultValue;
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = get(key);
        if (v instanceof Boolean b) {
            return b;
        }
        throw wrongType(key, "a bool", v);
    }

    public String getString(String key) {
        Object v = get(key);
        if (v instanceof String s) {
            return s;
        }
        throw wrongType(key, "a string", v);
    }

    public String getString(String key, String defaultValue) {
        return has(key) ? getString(key) : defaultValue;
    }

    public String[] getStringArray(String key) {
        Object v = get(key);
        if (v instanceof String[] a) {
            return a;
        }
        throw wrongType(key, "an array of strings", v);
    }

    public float[] getFloatArray(String key) {
        Object v = get(key);
        if (v instanceof float[] a) {
            return a;
        }
        throw wrongType(key, "an array of float32", v);
    }

    /** An integer array as ints (every element must fit). */
    public int[] getIntArray(String key) {
        Object v = get(key);
        if (v instanceof long[] a) {
            int[] out = new int[a.length];
            for (int i = 0; i < a.length; i++) {
                if (a[i] < Integer.MIN_VALUE || a[i] > Integer.MAX_VALUE) {
                    throw new GgufFormatException(source + ": element " + i + " of '" + key + "' does not fit an int");
                }
                out[i] = (int) a[i];
            }
            return out;
        }
        throw wrongType(key, "an array of integers", v);
    }

    private GgufFormatException wrongType(String key, String expected, Object v) {
        return new GgufFormatException(source + ": metadata '" + key + "' should be " + expected + " but is "
                + entries.get(key).type() + (v != null && v.getClass().isArray() ? " of " + entries.get(key).elementType() : ""));
    }
}
