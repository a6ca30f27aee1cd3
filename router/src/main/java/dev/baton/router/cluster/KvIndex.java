package dev.baton.router.cluster;

import dev.baton.common.BlockHash;
import dev.baton.common.NodeId;
import dev.baton.common.protocol.KvEvents;
import dev.baton.common.protocol.NodeProtocol;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The router's view of which block hashes each node holds (docs/design.md §6), kept from the nodes'
 * {@link KvEvents.Batch}es. Events are applied in sequence order; a gap (a lost batch), a batch of a
 * new incarnation (the node restarted) that does not start at 1, or a first sight of a node mid-way
 * triggers a resync: the node is asked for its whole {@link KvEvents.State}, batches arriving
 * meanwhile are kept, and the index continues from the state's sequence number. A node that leaves
 * is dropped.
 *
 * <p>Not thread-safe: used on the dispatcher's actor thread.
 */
final class KvIndex {

    /** How a resync is asked for (the dispatcher sends {@link NodeProtocol.GetKvState}). */
    interface Resync {
        void request(NodeId nodeId, ActorRef<NodeProtocol.Command> node);
    }

    /** Batches kept per node while its resync is under way; beyond this the resync is asked again. */
    private static final int MAX_HELD_BATCHES = 256;

    private static final class NodeIndex {
        final long incarnation;
        long seq;
        boolean resyncing;
        boolean stale; // a resync failed: the next batch starts another
        int behindPolls; // consecutive load reports whose sequence number was ahead of this index
        final Set<BlockHash> hashes = new HashSet<>();
        final List<KvEvents.Batch> held = new ArrayList<>();

        NodeIndex(long incarnation) {
            this.incarnation = incarnation;
        }
    }

    private final Map<NodeId, NodeIndex> nodes = new HashMap<>();
    private final Resync resync;
    private long eventsApplied;
    private long resyncs;

    KvIndex(Resync resync) {
        this.resync = resync;
    }

    void onBatch(KvEvents.Batch b) {
        NodeIndex n = nodes.get(b.nodeId());
        if (n == null || n.incarnation != b.incarnation()) {
            n = new NodeIndex(b.incarnation());
            nodes.put(b.nodeId(), n);
        }
        if (n.resyncing) {
            if (n.held.size() < MAX_HELD_BATCHES) {
                n.held.add(b);
            } else {
                n.held.clear();
                startResync(b.nodeId(), n, b.node());
            }
            return;
        }
        if (b.lastSeq() <= n.seq) {
            return; // a duplicate
        }
        if (n.stale || b.firstSeq() > n.seq + 1) {
            startResync(b.nodeId(), n, b.node()); // a gap: events were lost
            n.held.add(b);
            return;
        }
        apply(n, b);
    }

    void onState(KvEvents.State s) {
        NodeIndex n = nodes.get(s.nodeId());
        if (n == null || n.incarnation != s.incarnation()) {
            n = new NodeIndex(s.incarnation());
            nodes.put(s.nodeId(), n);
        }
        n.hashes.clear();
        for (int i = 0; i < s.hashHi().length; i++) {
            n.hashes.add(new BlockHash(s.hashHi()[i], s.hashLo()[i]));
        }
        n.seq = s.seq();
        n.resyncing = false;
        n.stale = false;
        List<KvEvents.Batch> held = List.copyOf(n.held);
        n.held.clear();
        for (KvEvents.Batch b : held) {
            onBatch(b);
        }
    }

    /**
     * A node's load report names the last event it published: an index that stays behind it for two
     * reports in a row (a lost batch with no batch after it to show the gap) is resynced.
     */
    void onLoad(NodeId nodeId, long incarnation, long seq, ActorRef<NodeProtocol.Command> node) {
        if (seq <= 0) {
            return;
        }
        NodeIndex n = nodes.get(nodeId);
        if (n == null || n.incarnation != incarnation) {
            n = new NodeIndex(incarnation);
            nodes.put(nodeId, n);
        }
        if (n.resyncing) {
            return;
        }
        if (!n.stale && n.seq >= seq) {
            n.behindPolls = 0;
            return;
        }
        if (++n.behindPolls >= 2) {
            n.behindPolls = 0;
            startResync(nodeId, n, node);
        }
    }

    /** The resync of a node could not be done (no answer): the next batch starts another. */
    void resyncFailed(NodeId nodeId) {
        NodeIndex n = nodes.get(nodeId);
        if (n != null) {
            n.resyncing = false;
            n.held.clear();
            n.stale = true;
        }
    }

    void drop(NodeId nodeId) {
        nodes.remove(nodeId);
    }

    private void startResync(NodeId id, NodeIndex n, ActorRef<NodeProtocol.Command> node) {
        n.resyncing = true;
        resyncs++;
        resync.request(id, node);
    }

    private void apply(NodeIndex n, KvEvents.Batch b) {
        for (int i = (int) (n.seq + 1 - b.firstSeq()); i < b.size(); i++) {
            switch (b.kinds()[i]) {
                case KvEvents.STORED -> n.hashes.add(b.hash(i));
                case KvEvents.REMOVED -> n.hashes.remove(b.hash(i));
                case KvEvents.CLEARED -> n.hashes.clear();
                default -> { } // a kind from a newer node: ignored
            }
            eventsApplied++;
        }
        n.seq = b.lastSeq();
    }

    /** How many leading blocks of {@code prompt} the node holds (0 for an unknown node or one resyncing). */
    int overlap(NodeId nodeId, BlockHash[] prompt) {
        NodeIndex n = nodes.get(nodeId);
        if (n == null || n.resyncing || n.stale) {
            return 0;
        }
        int i = 0;
        while (i < prompt.length && n.hashes.contains(prompt[i])) {
            i++;
        }
        return i;
    }

    /** Block hashes the router believes the node holds. */
    int size(NodeId nodeId) {
        NodeIndex n = nodes.get(nodeId);
        return n == null ? 0 : n.hashes.size();
    }

    boolean contains(NodeId nodeId, BlockHash hash) {
        NodeIndex n = nodes.get(nodeId);
        return n != null && n.hashes.contains(hash);
    }

    long sequence(NodeId nodeId) {
        NodeIndex n = nodes.get(nodeId);
        return n == null ? 0 : n.seq;
    }

    long eventsApplied() {
        return eventsApplied;
    }

    long resyncs() {
        return resyncs;
    }
}
