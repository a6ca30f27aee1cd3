/**
 * The GGUF file format.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.gguf.GgufFile}: a memory-mapped, bounds-checked reader (v1 to v3).</li>
 *   <li>{@link dev.baton.engine.gguf.GgufMetadata}: typed metadata access with errors naming the key.</li>
 *   <li>{@link dev.baton.engine.gguf.GgufTensorInfo}: one tensor and its slice of the mapping.</li>
 *   <li>{@link dev.baton.engine.gguf.GgmlType}, {@link dev.baton.engine.gguf.GgufValueType}: type ids.</li>
 *   <li>{@link dev.baton.engine.gguf.GgufFormatException}: an unreadable file, with the offset and key or tensor.</li>
 *   <li>{@link dev.baton.engine.gguf.GgufWriter}: builds a GGUF v3 file and writes it atomically.</li>
 *   <li>{@link dev.baton.engine.gguf.GgufQuantizer}: float to and from F32, F16, BF16, Q8_0 and Q4_0 bytes, as ggml.</li>
 * </ul>
 */
package dev.baton.engine.gguf;
