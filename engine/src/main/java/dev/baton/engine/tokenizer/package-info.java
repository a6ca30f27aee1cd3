/**
 * Tokenizers built from GGUF metadata, producing the token ids llama.cpp produces, and streaming
 * detokenization.
 *
 * <ul>
 *   <li>{@link dev.baton.engine.tokenizer.Tokenizer}: the public API and its factory
 *       ({@code tokenizer.ggml.model} gpt2 or llama).</li>
 *   <li>{@link dev.baton.engine.tokenizer.StreamingDetokenizer}: per-sequence token-to-text that never
 *       splits a UTF-8 character.</li>
 *   <li>{@link dev.baton.engine.tokenizer.TokenizerException}: unsupported or inconsistent tokenizer metadata.</li>
 *   <li>{@code BpeTokenizer}: byte-level BPE (GPT-2 byte mapping, merge ranks, ignore_merges).</li>
 *   <li>{@code SpmTokenizer}: SentencePiece BPE by token score with byte fallback.</li>
 *   <li>{@code VocabularyTokenizer}: what both share: special-token splitting, BOS/EOS, token bytes, decoding.</li>
 *   <li>{@code Vocabulary}: tokens, attributes, scores, special ids and end-of-generation set, as llama.cpp loads them.</li>
 *   <li>{@code PreTokenizer}: the word splitters of {@code tokenizer.ggml.pre} (llama3, qwen2, gpt2, default).</li>
 *   <li>{@code UnicodeClass}: letter, number, punctuation and whitespace as the splitters define them.</li>
 *   <li>{@code ByteLevel}: GPT-2's byte-to-character mapping.</li>
 *   <li>{@code BigramQueue}: the priority queue of candidate merges.</li>
 *   <li>{@code LongIntMap}: the unboxed map of BPE merge ranks.</li>
 *   <li>{@code TextIndex}: vocabulary ids looked up by a range of a string, without copying.</li>
 *   <li>{@code IntList}: a growable int array.</li>
 *   <li>{@code Utf8}: UTF-8 decoding with Python's replacement of invalid bytes.</li>
 * </ul>
 */
package dev.baton.engine.tokenizer;
