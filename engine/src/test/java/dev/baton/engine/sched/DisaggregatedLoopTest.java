package dev.baton.engine.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.RequestId;
import dev.baton.engine.Engine;
import dev.baton.engine.Generator;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.sampling.FinishReason;
import dev.baton.engine.sampling.SamplingParams;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The two halves of a disaggregated request on two engines: a prefill-only loop computes the prompt
 * and the first token, its KV is copied into the blocks an importing loop reserved, and the
 * importing loop decodes the rest. The tokens must be those of one engine alone.
 */
@Timeout(120)
class DisaggregatedLoopTest {

    /** The prefill half: records the handed-over sequence. */
    static class PrefillCollector extends EngineLoopTest.Collector implements PrefillListener {
        final CompletableFuture<PrefilledSequence> prefilled = new CompletableFuture<>();
        volatile Runnable onDone = () -> { };

        @Override
        public void onPrefillDone(PrefilledSequence sequence) {
            prefilled.complete(sequence);
            onDone.run();
        }
    }

    /** The decode half: records the ticket. */
    static final class ImportCollector extends EngineLoopTest.Collector implements ImportListener {
        final CompletableFuture<KvImport> reserved = new CompletableFuture<>();
        volatile int revokes;

        @Override
        public void onReserved(KvImport ticket) {
            reserved.complete(ticket);
        }

        @Override
        public void onRevoke(KvImport ticket) {
            revokes++;
        }
    }

    /**
     * Copies a prefilled sequence's blocks into an import ticket's segments (the transport's job): the
     * prompt's blocks from the ticket's first block on.
     */
    static void copy(KvBlockPool from, PrefilledSequence p, KvImport to) {
        MemorySegment[] dst = to.lend();
        assertNotNull(dst);
        assertEquals(p.kv().blockCount() - to.firstBlock(), dst.length);
        for (int i = 0; i < dst.length; i++) {
            MemorySegment.copy(from.memory(), from.blockOffset(p.kv().blockTable()[to.firstBlock() + i]), dst[i], 0,
                    dst[i].byteSize());
        }
    }

    @Test
    void shouldContinueOnTheDecodeLoopWithTheTokensOfOneEngine() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        int n = 10;
        int[][] prompts = new int[n][];
        SamplingParams[] params = new SamplingParams[n];
        for (int i = 0; i < n; i++) {
            prompts[i] = rnd.ints(2 + rnd.nextInt(90), 0, 508).toArray();
            SamplingParams.Builder b = SamplingParams.builder().maxTokens(2 + rnd.nextInt(30)).ignoreEos(true);
            params[i] = (i % 2 == 0 ? b.temperature(0.8f).topK(40).repetitionPenalty(1.2f).seed(100 + i) : b.temperature(0))
                    .build();
        }
        Generator.Result[] expected = new Generator.Result[n];
        try (Engine alone = Engine.open(EngineLoopTest.settings(8L << 20))) {
            for (int i = 0; i < n; i++) {
                expected[i] = new Generator(alone).generate(prompts[i], params[i], t -> { });
            }
        }
        try (Engine pe = Engine.open(EngineLoopTest.settings(8L << 20)); Engine de = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p");
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d")) {
            PrefillCollector[] p = new PrefillCollector[n];
            ImportCollector[] d = new ImportCollector[n];
            for (int i = 0; i < n; i++) {
                RequestId id = new RequestId(i);
                d[i] = new ImportCollector();
                assertEquals(EngineLoop.SubmitResult.ACCEPTED,
                        decode.submitImport(new GenerationRequest(id, prompts[i], params[i]), d[i]));
                KvImport ticket = d[i].reserved.get(10, TimeUnit.SECONDS);
                assertEquals(prompts[i].length, ticket.promptLength());
                p[i] = new PrefillCollector();
                PrefillCollector pc = p[i];
                pc.onDone = () -> {
                    PrefilledSequence s = pc.prefilled.join();
                    copy(pe.pool(), s, ticket);
                    s.kv().free(); // on the prefill loop's thread, which owns its pool
                    ticket.giveBack(true, null);
                    decode.handoff(id, s.firstToken());
                };
                assertEquals(EngineLoop.SubmitResult.ACCEPTED,
                        prefill.submitPrefill(new GenerationRequest(id, prompts[i], params[i]), p[i]));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i].finishReason(), d[i].done.get(60, TimeUnit.SECONDS), "request " + i);
                PrefilledSequence s = p[i].prefilled.get();
                int[] got = new int[expected[i].tokens().length];
                got[0] = s.firstToken();
                for (int k = 1; k < got.length; k++) {
                    got[k] = d[i].tokens.get(k - 1);
                }
                assertArrayEquals(expected[i].tokens(), got, "request " + i);
                assertEquals(got.length - 1, d[i].tokens.size(), "the decode half reports tokens 2..n only");
                assertEquals(expected[i].text(), p[i].text + d[i].text.toString(), "request " + i);
                assertEquals(prompts[i].length, p[i].prefilledPrompt);
                assertEquals(-1, d[i].prefilledPrompt, "the decode half reports no prefill");
                assertFalse(p[i].done.isDone(), "a handed-over prefill request neither finishes nor fails");
            }
            awaitFree(pe.pool());
            awaitFree(de.pool());
        }
    }

    @Test
    void shouldKeepAHandoffThatArrivesBeforeItsRequest() throws Exception {
        int[] prompt = {508, 12, 13, 14, 15};
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(6).ignoreEos(true).build();
        Generator.Result expected;
        try (Engine alone = Engine.open(EngineLoopTest.settings(8L << 20))) {
            expected = new Generator(alone).generate(prompt, params, t -> { });
        }
        try (Engine pe = Engine.open(EngineLoopTest.settings(8L << 20)); Engine de = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p");
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d")) {
            RequestId id = new RequestId(9);
            PrefillCollector p = new PrefillCollector();
            prefill.submitPrefill(new GenerationRequest(id, prompt, params), p);
            PrefilledSequence s = p.prefilled.get(10, TimeUnit.SECONDS);
            decode.handoff(id, s.firstToken()); // before the decode side has heard of the request
            ImportCollector d = new ImportCollector();
            decode.submitImport(new GenerationRequest(id, prompt, params), d);
            KvImport ticket = d.reserved.get(10, TimeUnit.SECONDS);
            CompletableFuture<Void> copied = new CompletableFuture<>();
            prefill.execute(() -> {
                copy(pe.pool(), s, ticket);
                s.kv().free();
                copied.complete(null);
            });
            copied.get(10, TimeUnit.SECONDS);
            ticket.giveBack(true, null);
            assertEquals(FinishReason.LENGTH, d.done.get(30, TimeUnit.SECONDS));
            assertEquals(expected.tokens()[1], d.tokens.get(0));
            assertEquals(expected.tokens().length - 1, d.tokens.size());
            awaitFree(pe.pool());
            awaitFree(de.pool());
        }
    }

    @Test
    void shouldRefuseARequestWhoseCancelArrivedFirst() throws Exception {
        try (Engine de = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d")) {
            decode.cancel(new RequestId(5), "the prefill node failed");
            ImportCollector c = new ImportCollector();
            decode.submitImport(new GenerationRequest(new RequestId(5), new int[] {1, 2, 3}, SamplingParams.greedy()), c);
            ExecutionException e = assertThrows(ExecutionException.class, () -> c.done.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("the prefill node failed"), e.getCause().getMessage());
            assertFalse(c.reserved.isDone(), "no blocks reserved");
            assertEquals(de.pool().blockCount(), de.pool().freeBlockCount());
        }
    }

    @Test
    void shouldReportEachChunkOfAPrefillWithBlocksThatNoLongerChange() throws Exception {
        int[] prompt = new SplittableRandom(11).ints(150, 0, 508).toArray(); // chunks of 64, 64 and 22 (batch 64)
        record Progress(int computed, int[] table, byte[][] bytes) {}
        java.util.List<Progress> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Engine pe = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p")) {
            int bs = pe.pool().spec().blockSize();
            PrefillCollector c = new PrefillCollector() {
                @Override
                public void onPrefillProgress(dev.baton.engine.kv.KvSequence kv, int computed) {
                    int full = computed / bs;
                    int[] table = java.util.Arrays.copyOf(kv.blockTable(), full);
                    byte[][] bytes = new byte[full][];
                    for (int i = 0; i < full; i++) {
                        bytes[i] = pe.pool().block(table[i]).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    }
                    seen.add(new Progress(computed, table, bytes));
                }
            };
            CompletableFuture<byte[][]> last = new CompletableFuture<>();
            c.onDone = () -> {
                PrefilledSequence s = c.prefilled.join();
                byte[][] bytes = new byte[s.kv().blockCount()][];
                for (int i = 0; i < bytes.length; i++) {
                    bytes[i] = pe.pool().block(s.kv().blockTable()[i]).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                }
                int[] table = java.util.Arrays.copyOf(s.kv().blockTable(), s.kv().blockCount());
                for (Progress p : seen) {
                    assertArrayEquals(java.util.Arrays.copyOf(table, p.table().length), p.table(),
                            "a finished block's table entry stays");
                }
                s.kv().free();
                last.complete(bytes);
            };
            prefill.submitPrefill(new GenerationRequest(new RequestId(1), prompt,
                    SamplingParams.builder().temperature(0).maxTokens(8).build()), c);
            byte[][] done = last.get(30, TimeUnit.SECONDS);
            assertEquals(java.util.List.of(64, 128), seen.stream().map(Progress::computed).toList(),
                    "one report per chunk short of the prompt's end");
            for (Progress p : seen) {
                for (int i = 0; i < p.bytes().length; i++) {
                    assertArrayEquals(done[i], p.bytes()[i], "block " + i + " at " + p.computed() + " is final");
                }
            }
            awaitFree(pe.pool());
        }
    }

    @Test
    void shouldFinishOnThePrefillNodeWhenTheFirstTokenEndsTheRequest() throws Exception {
        try (Engine pe = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop prefill = new EngineLoop(pe, LoopSettings.defaults(), "p")) {
            PrefillCollector c = new PrefillCollector();
            prefill.submitPrefill(new GenerationRequest(new RequestId(1), new int[] {508, 3, 4, 5},
                    SamplingParams.builder().temperature(0).maxTokens(1).build()), c);
            assertEquals(FinishReason.LENGTH, c.done.get(30, TimeUnit.SECONDS));
            assertEquals(1, c.tokens.size());
            assertFalse(c.prefilled.isDone());
            awaitFree(pe.pool());
        }
    }

    @Test
    void shouldFreeImportBlocksOnlyAfterTheTransportGivesThemBack() throws Exception {
        try (Engine de = Engine.open(EngineLoopTest.settings(8L << 20));
                EngineLoop decode = new EngineLoop(de, LoopSettings.defaults(), "d")) {
            ImportCollector c = new ImportCollector();
            RequestId id = new RequestId(3);
            decode.submitImport(new GenerationRequest(id, new int[40], SamplingParams.builder().temperature(0)
                    .maxTokens(20).build()), c);
            KvImport ticket = c.reserved.get(10, TimeUnit.SECONDS);
            int held = de.pool().usedBlockCount();
            assertEquals(4, held, "60 positions in blocks of 16");
            assertNotNull(ticket.lend());
            assertNull(ticket.lend(), "lent once");
            decode.cancel(id, "client disconnected");
            awaitCondition(() -> c.revokes == 1);
            Thread.sleep(50);
            assertEquals(held, de.pool().usedBlockCount(), "blocks a transport holds are not freed");
            assertFalse(c.done.isDone());
            ticket.giveBack(false, "cancelled");
            ExecutionException e = assertThrows(ExecutionException.class, () -> c.done.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("client disconnected"), e.getCause().getMessage());
            awaitFree(de.pool());
        }
    }

    @Test
    void shouldFailAnImportWhoseTransferFailedOrNeverCame() throws Exception {
        LoopSettings quick = LoopSettings.defaults().withImportTimeoutNanos(TimeUnit.MILLISECONDS.toNanos(300));
        try (Engine de = Engine.open(EngineLoopTest.settings(8L << 20)); EngineLoop decode = new EngineLoop(de, quick, "d")) {
            ImportCollector failed = new ImportCollector();
            decode.submitImport(new GenerationRequest(new RequestId(1), new int[20], SamplingParams.greedy()), failed);
            KvImport ticket = failed.reserved.get(10, TimeUnit.SECONDS);
            ticket.lend();
            ticket.giveBack(false, "CRC32C mismatch in block 0");
            ExecutionException e = assertThrows(ExecutionException.class, () -> failed.done.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("CRC32C mismatch in block 0"), e.getCause().getMessage());

            ImportCollector late = new ImportCollector();
            decode.submitImport(new GenerationRequest(new RequestId(2), new int[20], SamplingParams.greedy()), late);
            KvImport never = late.reserved.get(10, TimeUnit.SECONDS);
            e = assertThrows(ExecutionException.class, () -> late.done.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("did not arrive within 300 ms"), e.getCause().getMessage());
            assertNull(never.lend(), "a timed-out reservation cannot be lent any more");
            awaitFree(de.pool());
        }
    }

    @Test
    void shouldReserveADeferredImportOnlyOnceItsPrefillStarted() throws Exception {
        // the start timeout alone: an import that started has the whole (default) import timeout
        LoopSettings quick = LoopSettings.defaults().withStartTimeoutNanos(TimeUnit.MILLISECONDS.toNanos(400));
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(20).build();
        try (Engine de = Engine.open(EngineLoopTest.settings(8L << 20)); EngineLoop decode = new EngineLoop(de, quick, "d")) {
            ImportCollector c = new ImportCollector();
            RequestId id = new RequestId(1);
            decode.submitImportWhenStarted(new GenerationRequest(id, new int[40], params), c);
            awaitCondition(() -> decode.waitingCount() == 1);
            Thread.sleep(50);
            assertFalse(c.reserved.isDone(), "nothing reserved before the prefill starts");
            assertEquals(0, de.pool().usedBlockCount());
            decode.startImport(id);
            KvImport ticket = c.reserved.get(10, TimeUnit.SECONDS);
            assertEquals(4, de.pool().usedBlockCount(), "60 positions in blocks of 16");
            decode.cancel(id, "client disconnected");
            assertThrows(ExecutionException.class, () -> c.done.get(10, TimeUnit.SECONDS));
            assertNull(ticket.lend(), "a cancelled reservation cannot be lent");

            // a start that overtakes its request is kept
            ImportCollector early = new ImportCollector();
            decode.startImport(new RequestId(2));
            decode.submitImportWhenStarted(new GenerationRequest(new RequestId(2), new int[20], params), early);
            early.reserved.get(10, TimeUnit.SECONDS);
            decode.cancel(new RequestId(2), "done");

            // a deferred import cancelled or never started holds nothing and fails with the reason
            ImportCollector cancelled = new ImportCollector();
            decode.submitImportWhenStarted(new GenerationRequest(new RequestId(3), new int[20], params), cancelled);
            decode.cancel(new RequestId(3), "the prefill node refused it");
            ExecutionException e = assertThrows(ExecutionException.class, () -> cancelled.done.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("the prefill node refused it"), e.getCause().getMessage());
            ImportCollector never = new ImportCollector();
            decode.submitImportWhenStarted(new GenerationRequest(new RequestId(4), new int[20], params), never);
            e = assertThrows(ExecutionException.class, () -> never.done.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("did not start the prompt within 400 ms"),
                    e.getCause().getMessage());
            assertFalse(never.reserved.isDone());
            assertFalse(cancelled.reserved.isDone());
            awaitFree(de.pool());
            awaitCondition(() -> decode.waitingCount() == 0);
        }
    }

    static void awaitFree(KvBlockPool pool) throws InterruptedException {
        awaitCondition(() -> pool.freeBlockCount() == pool.blockCount());
        assertEquals(pool.blockCount(), pool.freeBlockCount(), "every block returned");
    }

    static void awaitCondition(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(c.getAsBoolean(), "condition not reached within 10 s");
    }
}
