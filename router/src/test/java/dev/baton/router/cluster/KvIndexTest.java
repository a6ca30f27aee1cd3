package dev.baton.router.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.baton.common.BlockHash;
import dev.baton.common.NodeId;
import dev.baton.common.protocol.KvEvents;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvIndexTest {

    static final NodeId A = new NodeId("a");

    final List<NodeId> resyncAsked = new ArrayList<>();
    final KvIndex index = new KvIndex((id, ref) -> resyncAsked.add(id));

    static BlockHash h(int i) {
        return new BlockHash(i, -i);
    }

    /** The node side, for real: a log whose drained batches the test may deliver or lose. */
    final KvEvents.Log log = new KvEvents.Log(A, 7);

    KvEvents.Batch store(int... ids) {
        for (int i : ids) {
            log.stored(h(i), i);
        }
        return log.drain();
    }

    KvEvents.Batch remove(int... ids) {
        for (int i : ids) {
            log.removed(h(i));
        }
        return log.drain();
    }

    @Test
    void shouldApplyEventsInOrderAndMeasurePrefixOverlap() {
        index.onBatch(store(0, 1, 2));
        index.onBatch(store(3));
        index.onBatch(remove(2));
        assertEquals(2, index.overlap(A, new BlockHash[] {h(0), h(1), h(2), h(3)}), "stops at the first missing block");
        assertEquals(3, index.size(A));
        assertEquals(5, index.sequence(A));
        assertTrue(resyncAsked.isEmpty());
        assertEquals(0, index.overlap(new NodeId("b"), new BlockHash[] {h(0)}));
    }

    @Test
    void shouldResyncAfterALostBatchAndConverge() {
        index.onBatch(store(0, 1));
        store(2); // lost on the way
        KvEvents.Batch after = store(3);
        index.onBatch(after);
        assertEquals(List.of(A), resyncAsked, "a gap asks for the node's state");
        assertEquals(0, index.overlap(A, new BlockHash[] {h(0)}), "no routing on an index being resynced");
        KvEvents.Batch during = remove(0); // arrives before the state answer
        index.onBatch(during);
        // the node's answer as of event 4 (stored 0..3): event 5 (remove 0) is applied from the held batches
        index.onState(new KvEvents.State(A, 7, 4, new long[] {0, 1, 2, 3}, new long[] {0, -1, -2, -3}));
        assertEquals(3, index.size(A));
        assertFalse(index.contains(A, h(0)));
        assertTrue(index.contains(A, h(2)), "the lost event is recovered");
        assertEquals(5, index.sequence(A));
        index.onBatch(store(9));
        assertTrue(index.contains(A, h(9)));
        assertEquals(1, index.resyncs());
    }

    @Test
    void shouldResyncWhenTheLoadReportShowsALostLastBatch() {
        index.onBatch(store(0, 1));
        store(2); // lost, and nothing after it
        index.onLoad(A, 7, 3, null);
        assertTrue(resyncAsked.isEmpty(), "one report behind may be a batch still on its way");
        index.onLoad(A, 7, 3, null);
        assertEquals(List.of(A), resyncAsked, "two reports behind: resync");
        index.onState(new KvEvents.State(A, 7, 3, new long[] {0, 1, 2}, new long[] {0, -1, -2}));
        assertTrue(index.contains(A, h(2)));
        index.onLoad(A, 7, 3, null);
        index.onLoad(A, 7, 3, null);
        assertEquals(1, resyncAsked.size(), "an index that caught up is left alone");
    }

    @Test
    void shouldStartOverForANewIncarnationAndDropANodeThatLeft() {
        index.onBatch(store(0, 1));
        KvEvents.Log restarted = new KvEvents.Log(A, 8);
        restarted.stored(h(5), 0);
        index.onBatch(restarted.drain());
        assertEquals(1, index.size(A), "a restarted node starts from an empty cache");
        assertTrue(index.contains(A, h(5)));
        assertTrue(resyncAsked.isEmpty());
        index.drop(A);
        assertEquals(0, index.size(A));
    }

    @Test
    void shouldResyncANodeFirstSeenMidWayAndIgnoreDuplicates() {
        store(0);
        KvEvents.Batch second = store(1);
        index.onBatch(second);
        assertEquals(List.of(A), resyncAsked);
        index.onState(new KvEvents.State(A, 7, 2, new long[] {0, 1}, new long[] {0, -1}));
        index.onBatch(second); // a duplicate
        assertEquals(2, index.size(A));
        assertEquals(2, index.sequence(A));
        index.resyncFailed(A);
        index.onBatch(store(4));
        assertEquals(2, resyncAsked.size(), "after a failed resync the next batch asks again");
    }
}
