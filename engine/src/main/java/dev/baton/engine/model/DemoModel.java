package dev.baton.engine.model;

import dev.baton.engine.gguf.GgmlType;
import dev.baton.engine.gguf.GgufFile;
import dev.baton.engine.gguf.GgufMetadata;
import dev.baton.engine.gguf.GgufQuantizer;
import dev.baton.engine.gguf.GgufTensorInfo;
import dev.baton.engine.gguf.GgufWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The embedded default model: a small Llama-architecture GGUF with <b>random, untrained weights</b>,
 * generated on demand so that {@code bin/baton} runs end to end without a download. Its output is
 * gibberish; it exists to exercise the whole serving path.
 *
 * <p>The file is a pure function of this class: the same bytes on every machine and every run (a
 * fixed seed, SplitMix64 and Box-Muller through {@link StrictMath}, ggml's Q8_0 rounding); a test pins
 * its fingerprint. A change to anything here must rename the file ({@code -v2}).
 *
 * <pre>
 *   llama, dim 256, 4 layers, 8 heads / 4 KV heads (head_dim 32), ffn 768, vocab 512, context 2048,
 *   rope base 10000, rms eps 1e-5, separate output.weight
 *   norms F32 1 + 0.1 N(0,1); every 2-D weight Q8_0, N(0, s^2) with s chosen so activations stay O(1):
 *     token_embd 1, attn_q/k/v/output 1/sqrt(dim), ffn_gate/up sqrt(3/dim), ffn_down 1/sqrt(ffn),
 *     output 4/sqrt(dim)                                   (the scales of the oracle's tiny models)
 *   tokenizer: byte-level BPE laid out like the oracle's tiny-f32 (gpt2 / llama-bpe): ids 0..255 the
 *     bytes in GPT-2 byte-to-unicode form, 256..507 merges learnt from the English text in this class,
 *     508 &lt;|begin_of_text|&gt; (BOS), 509 &lt;|end_of_text|&gt; (EOS), 510 &lt;|im_start|&gt;, 511 &lt;|im_end|&gt;
 *     (type 3, control), add_bos, a ChatML chat template
 * </pre>
 *
 * <p>Stateless; every method may be called from any thread. {@link #ensure} is safe against
 * concurrent callers and processes (each writes a temporary file and renames it atomically).
 */
public final class DemoModel {

    /** The file name {@link #ensure} writes; versioned with the content. */
    public static final String FILE_NAME = "baton-demo-v1.gguf";
    public static final String NAME = "Baton demo model (random weights, untrained: output is gibberish)";

    public static final int DIM = 256;
    public static final int LAYERS = 4;
    public static final int HEADS = 8;
    public static final int KV_HEADS = 4;
    public static final int HEAD_DIM = DIM / HEADS;
    public static final int FFN = 768;
    public static final int CONTEXT = 2048;
    public static final int VOCAB = 512;
    public static final float ROPE_BASE = 10000f;
    public static final float RMS_EPS = 1e-5f;

    public static final int MERGES = 252;
    public static final int BOS = 508;
    public static final int EOS = 509;
    public static final int IM_START = 510;
    public static final int IM_END = 511;
    static final String[] SPECIAL_TOKENS = {"<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"};

    /** ChatML, as in the oracle models. */
    public static final String CHAT_TEMPLATE = """
            {%- for message in messages -%}
              {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
              {{- '<|im_start|>assistant\\n' -}}
            {%- endif -%}""";

    private static final long SEED = 0x0ba7_0de_0001L;
    private static final int TOKEN_TYPE_NORMAL = 1;
    private static final int TOKEN_TYPE_CONTROL = 3;
    private static final int FILE_TYPE_MOSTLY_Q8_0 = 7;
    private static final int FILE_TYPE_ALL_F32 = 0;

    /** Llama 3's pre-tokenizer split (tokenizer.ggml.pre = llama-bpe), used to learn the merges. */
    private static final Pattern LLAMA3_SPLIT = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

    /** The text the merges are learnt from: plain, common English. Changing it changes the model. */
    static final String CORPUS = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.
            One day, she saw a big red ball under a tree. "Can I play with the ball?" she asked her mom.
            Her mom smiled and said, "Yes, you can play with it, but be careful and share it with the other children."
            Lily ran to the tree and picked up the ball. It was round and shiny, and she was very happy.
            Then a small dog came running across the grass. The dog wanted to play too, so Lily threw the ball for him.
            The dog jumped and caught the ball in his mouth. He brought it back to her and wagged his tail.
            They played together all morning, until the sun was high in the sky and they were both tired.
            Lily sat down on the grass next to the dog and said, "You are my best friend." The dog licked her hand.
            When it was time to go home, Lily gave the dog a big hug and said goodbye. She walked home with her mom.
            That night, she told her father about the dog and the ball, and he laughed and said it was a good day.
            The next morning, the sun was shining and the birds were singing in the trees outside her window.
            Lily wanted to see the dog again, so she asked her mom if they could go back to the park after breakfast.
            They found the dog waiting by the same tree, and he was so happy to see her that he ran in circles.
            In the afternoon, they met a boy named Tom, who had a kite. Tom showed them how to fly it in the wind.
            The kite went up and up, over the houses and the trees, and everyone watched it dance in the air.
            When the wind stopped, the kite came down slowly, and the children clapped and cheered and laughed.
            Tom said that they could fly the kite together again tomorrow, and Lily said that she would like that.
            Every day after that, the three friends met in the park to play games, tell stories and look at the clouds.
            The quick brown fox jumps over the lazy dog. What is the answer to this question? I think it is simple.
            Please write a short story about a cat who wants to be a king. The cat was brave, kind and very smart.
            We should think about what we want to do, and then we should do it well, because that is what matters.
            There are many things in the world that we do not understand, but we can learn about them every day.
            The model is a test of the system, and the words it writes have no meaning, because it has not been trained.
            """;

    private DemoModel() {}

    /**
     * Returns {@code cacheDir/baton-demo-v1.gguf}, writing it first (atomically, about 3 MB) if it is
     * not there. Creates {@code cacheDir} if needed.
     */
    public static Path ensure(Path cacheDir) throws IOException {
        Path dest = cacheDir.resolve(FILE_NAME);
        if (Files.isRegularFile(dest)) {
            return dest;
        }
        Files.createDirectories(cacheDir);
        writer().write(dest);
        return dest;
    }

    /**
     * Writes {@code source}'s model again with every tensor dequantized to F32: every metadata entry is
     * copied in order (with {@code general.file_type} set to 0, all F32), every tensor keeps its name,
     * shape and order. Used to compare a quantized model with its F32 form (benchmarks, tests).
     * K-quant tensors are decoded as the kernels read them ({@code WeightMatrix.dequantizeAll}).
     */
    public static void writeSmallF32(Path source, Path dest) throws IOException {
        try (GgufFile src = GgufFile.open(source)) {
            GgufWriter w = new GgufWriter();
            for (GgufMetadata.Entry e : src.metadata().entries().values()) {
                w.put(e);
            }
            if (src.metadata().has("general.file_type")) {
                w.putUint32("general.file_type", FILE_TYPE_ALL_F32);
            }
            for (GgufTensorInfo t : src.tensors().values()) {
                w.addTensor(t.name(), GgmlType.F32, () -> GgufQuantizer.canEncode(t.type()) ? GgufQuantizer.dequantize(t)
                        : dev.baton.engine.tensor.WeightMatrix.dequantizeAll(t), t.dims());
            }
            w.write(dest);
        }
    }

    /**
     * The shape of a model written with the demo model's vocabulary and random Q8_0 weights: the demo model's own,
     * or a larger one for benchmarks ({@link #write(Path, Geometry)}).
     */
    public record Geometry(int dim, int layers, int heads, int kvHeads, int ffn, int context) {

        /** The demo model's. */
        public static final Geometry DEMO = new Geometry(DIM, LAYERS, HEADS, KV_HEADS, FFN, CONTEXT);

        public Geometry {
            if (dim % heads != 0 || heads % kvHeads != 0 || dim % 32 != 0 || ffn % 32 != 0) {
                throw new IllegalArgumentException("geometry " + dim + "/" + heads + "/" + kvHeads + "/" + ffn
                        + ": dim a multiple of heads and of 32, heads of kv heads, ffn of 32");
            }
        }

        /** Weights of the transformer blocks, the part a decode step reads in full. */
        public long blockParameters() {
            int headDim = dim / heads;
            return (long) layers * ((long) 2 * dim * dim + 2L * dim * kvHeads * headDim + 3L * dim * ffn);
        }
    }

    /**
     * Writes a model of geometry {@code g} with the demo model's tokenizer, chat template and kind of weights (random,
     * Q8_0, seeded by tensor name): the demo model itself for {@link Geometry#DEMO}, else a benchmark model of a
     * real model's size (its output is gibberish).
     */
    public static void write(Path dest, Geometry g) throws IOException {
        writer(g).write(dest);
    }

    /** The complete model, ready to {@link GgufWriter#write}. */
    static GgufWriter writer() {
        return writer(Geometry.DEMO);
    }

    private static GgufWriter writer(Geometry g) {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", NAME)
                .putUint32("llama.context_length", g.context())
                .putUint32("llama.embedding_length", g.dim())
                .putUint32("llama.block_count", g.layers())
                .putUint32("llama.feed_forward_length", g.ffn())
                .putUint32("llama.attention.head_count", g.heads())
                .putUint32("llama.attention.head_count_kv", g.kvHeads())
                .putUint32("llama.rope.dimension_count", g.dim() / g.heads())
                .putFloat32("llama.rope.freq_base", ROPE_BASE)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", RMS_EPS)
                .putUint32("llama.vocab_size", VOCAB)
                .putUint32("general.file_type", FILE_TYPE_MOSTLY_Q8_0);
        Vocabulary vocab = vocabulary();
        w.putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "llama-bpe")
                .putStringArray("tokenizer.ggml.tokens", vocab.tokens)
                .putInt32Array("tokenizer.ggml.token_type", vocab.types)
                .putStringArray("tokenizer.ggml.merges", vocab.merges)
                .putUint32("tokenizer.ggml.bos_token_id", BOS)
                .putUint32("tokenizer.ggml.eos_token_id", EOS)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putBool("tokenizer.ggml.add_eos_token", false)
                .putString("tokenizer.chat_template", CHAT_TEMPLATE);

        int dim = g.dim();
        int ffn = g.ffn();
        int kvDim = g.kvHeads() * (dim / g.heads());
        double attn = 1 / Math.sqrt(dim);
        matrix(w, "token_embd.weight", dim, VOCAB, 1.0);
        for (int l = 0; l < g.layers(); l++) {
            String p = "blk." + l + ".";
            norm(w, p + "attn_norm.weight", dim);
            matrix(w, p + "attn_q.weight", dim, dim, attn);
            matrix(w, p + "attn_k.weight", dim, kvDim, attn);
            matrix(w, p + "attn_v.weight", dim, kvDim, attn);
            matrix(w, p + "attn_output.weight", dim, dim, attn);
            norm(w, p + "ffn_norm.weight", dim);
            matrix(w, p + "ffn_gate.weight", dim, ffn, Math.sqrt(3.0 / dim));
            matrix(w, p + "ffn_up.weight", dim, ffn, Math.sqrt(3.0 / dim));
            matrix(w, p + "ffn_down.weight", ffn, dim, 1 / Math.sqrt(ffn));
        }
        norm(w, "output_norm.weight", dim);
        matrix(w, "output.weight", dim, VOCAB, 4 / Math.sqrt(dim));
        return w;
    }

    /** A {@code rows x cols} Q8_0 matrix (GGML dims {@code [cols, rows]}) of N(0, scale^2) values. */
    private static void matrix(GgufWriter w, String name, int cols, int rows, double scale) {
        float[] v = gaussians(name, cols * rows);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * scale);
        }
        w.addTensor(name, GgmlType.Q8_0, v, cols, rows);
    }

    private static void norm(GgufWriter w, String name, int dim) {
        float[] v = gaussians(name, dim);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (1 + 0.1 * v[i]);
        }
        w.addTensor(name, GgmlType.F32, v, dim);
    }

    /**
     * {@code n} standard normal values from a stream seeded by the tensor's name (so one tensor does
     * not depend on the others): SplitMix64 uniforms, Box-Muller with {@link StrictMath}, which gives
     * the same bits on every JVM.
     */
    static float[] gaussians(String tensorName, int n) {
        long state = mix(SEED ^ fnv1a(tensorName));
        float[] out = new float[n];
        for (int i = 0; i < n; i += 2) {
            state += 0x9e3779b97f4a7c15L;
            double u1 = ((mix(state) >>> 11) + 1) * 0x1.0p-53; // (0, 1]: log is finite
            state += 0x9e3779b97f4a7c15L;
            double u2 = (mix(state) >>> 11) * 0x1.0p-53;
            double r = StrictMath.sqrt(-2 * StrictMath.log(u1));
            double a = 2 * StrictMath.PI * u2;
            out[i] = (float) (r * StrictMath.cos(a));
            if (i + 1 < n) {
                out[i + 1] = (float) (r * StrictMath.sin(a));
            }
        }
        return out;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    // ---------------------------------------------------------------- tokenizer

    /** Tokens, token types and merges of the demo vocabulary. */
    record Vocabulary(String[] tokens, int[] types, String[] merges) {}

    static Vocabulary vocabulary() {
        String[] byteToUnicode = byteToUnicode();
        List<String> merges = learnMerges(byteToUnicode, MERGES);
        String[] tokens = new String[VOCAB];
        int[] types = new int[VOCAB];
        for (int b = 0; b < 256; b++) {
            tokens[b] = byteToUnicode[b];
            types[b] = TOKEN_TYPE_NORMAL;
        }
        for (int i = 0; i < MERGES; i++) {
            tokens[256 + i] = merges.get(i).replace(" ", "");
            types[256 + i] = TOKEN_TYPE_NORMAL;
        }
        for (int i = 0; i < SPECIAL_TOKENS.length; i++) {
            tokens[BOS + i] = SPECIAL_TOKENS[i];
            types[BOS + i] = TOKEN_TYPE_CONTROL;
        }
        return new Vocabulary(tokens, types, merges.toArray(String[]::new));
    }

    /**
     * GPT-2's reversible byte-to-unicode map: printable Latin-1 bytes map to themselves, the other
     * 68 bytes to U+0100 upwards, in byte order (so the space 0x20 is 'Ġ' and '\n' is 'Ċ').
     */
    static String[] byteToUnicode() {
        String[] map = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
            map[b] = Character.toString(printable ? b : next++);
        }
        return map;
    }

    /**
     * Byte-level BPE training on {@link #CORPUS}: split with the Llama 3 pattern, then repeatedly merge
     * the most frequent adjacent pair (ties: the smaller pair by left then right string), as GPT-2
     * tokenizers are trained. Every merge's parts and result are tokens, so encoding is consistent.
     */
    static List<String> learnMerges(String[] byteToUnicode, int count) {
        Map<String, Integer> wordCounts = new LinkedHashMap<>();
        Matcher m = LLAMA3_SPLIT.matcher(CORPUS);
        while (m.find()) {
            StringBuilder sb = new StringBuilder();
            for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
                sb.append(byteToUnicode[b & 0xff]);
            }
            wordCounts.merge(sb.toString(), 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> freqs = new ArrayList<>();
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
            words.add(symbols);
            freqs.add(e.getValue());
        }
        List<String> merges = new ArrayList<>(count);
        while (merges.size() < count) {
            Map<List<String>, Integer> pairs = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairs.merge(List.of(s.get(i), s.get(i + 1)), freqs.get(w), Integer::sum);
                }
            }
            List<String> best = null;
            int bestCount = 0;
            for (Map.Entry<List<String>, Integer> e : pairs.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && comparePairs(e.getKey(), best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best == null) {
                throw new IllegalStateException("the corpus yields only " + merges.size() + " merges, " + count + " needed");
            }
            String left = best.get(0);
            String right = best.get(1);
            merges.add(left + " " + right);
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
                        s.set(i, left + right);
                        s.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    private static int comparePairs(List<String> a, List<String> b) {
        int c = a.get(0).compareTo(b.get(0));
        return c != 0 ? c : a.get(1).compareTo(b.get(1));
    }
}
