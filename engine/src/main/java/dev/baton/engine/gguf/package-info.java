/**
 * The GGUF file format.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.gguf.GgufFile}: a memory-mapped, bounds-checked reader (v1 to v3).</li>
 *   <li>{@link dev.baton.engine.gguf.GgufMetadata}: typed metadata access with errors naming the key.</li>
 *   <li>{@link dev.baton.engine.gguf.GgufTensorInfo}: one tensor and its slice of the mapping.</li>
 *   <li>{@link dev.baton.engine.gguf.GgmlType}, {@link dev.baton.engine.gguf.GgufValueType}: type ids.</li>
 *
 * </ul>
 */
package dev.baton.engine.gguf;
