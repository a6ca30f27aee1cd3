package dev.baton.engine.kv;

import dev.baton.engine.Engine;
import dev.baton.engine.EngineSettings;
import dev.baton.engine.testing.Kv;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run in a separate JVM by {@link KvExportImportTest}: imports a KV snapshot into a fresh engine,
 * decodes greedily from the given first token, and writes the tokens and the KV bytes.
 *
 * <p>Arguments: model snapshot firstToken steps out
 */
public final class KvContinuationMain {

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        Path snapshot = Path.of(args[1]);
        int first = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        Path out = Path.of(args[4]);
        try (Engine e = Engine.open(EngineSettings.defaults(model).withThreads(1).withKvCacheBytes(64L << 20));
                InputStream in = Files.newInputStream(snapshot)) {
            KvSnapshot snap = KvSnapshot.readFrom(in);
            KvSequence seq = e.importKv(snap);
            int[] tokens = KvExportImportTest.continueGreedy(e, seq, snap.tokens(), first, steps);
            try (OutputStream os = Files.newOutputStream(out); DataOutputStream d = new DataOutputStream(os)) {
                d.writeInt(tokens.length);
                for (int t : tokens) {
                    d.writeInt(t);
                }
                byte[] kv = Kv.bytes(seq);
                d.writeInt(kv.length);
                d.write(kv);
            }
        }
    }
}
