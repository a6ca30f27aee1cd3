package dev.baton.common.protocol;

import dev.baton.common.BlockHash;
import dev.baton.common.NodeId;
import java.util.Arrays;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * KV events (docs/design.md §6): how routers learn which block hashes each node's prefix cache holds.
 * A node numbers its events 1, 2, 3, ... within one incarnation (a process start) and publishes them
 * in {@link Batch}es on the cluster topic {@link #TOPIC}; a router that sees a gap in the numbers, or
 * a new incarnation, asks the node for its whole {@link State} ({@link NodeProtocol.GetKvState}) and
 * goes on from the state's sequence number.
 *
 * <p>Events travel as parallel arrays (kind, hash high and low words, depth) rather than a list of
 * polymorphic objects: compact in CBOR, and nothing to configure for Jackson.
 */
public final class KvEvents {

    private KvEvents() {}

    /** The name of the Pekko pub-sub topic KV events travel on. */
    public static final String TOPIC = "baton-kv-events";

    /** A block's KV is now cached on the node under its hash. */
    public static final byte STORED = 1;
    /** A cached block was evicted (or dropped): the node no longer holds the hash. */
    public static final byte REMOVED = 2;
    /** The node dropped its whole cache. */
    public static final byte CLEARED = 3;

    /**
     * Events {@code firstSeq .. firstSeq + kinds.length - 1} of one node incarnation, in order.
     *
     * @param node the node's actor, which answers {@link NodeProtocol.GetKvState}
     */
    public record Batch(NodeId nodeId, long incarnation, long firstSeq, byte[] kinds, long[] hashHi, long[] hashLo,
            int[] depths, ActorRef<NodeProtocol.Command> node) implements CborSerializable {

        public int size() {
            return kinds.length;
        }

        public long lastSeq() {
            return firstSeq + kinds.length - 1;
        }

        public BlockHash hash(int i) {
            return new BlockHash(hashHi[i], hashLo[i]);
        }
    }

    /** Every hash a node holds as of event {@code seq} of {@code incarnation}. */
    public record State(NodeId nodeId, long incarnation, long seq, long[] hashHi, long[] hashLo)
            implements CborSerializable {}

    /**
     * The node side: collects events as they happen and hands them out as numbered batches. Not
     * thread-safe: owned by the thread that owns the block pool (the engine loop), which calls
     * {@link #drain} regularly and publishes what it returns.
     */
    public static final class Log {
        private final NodeId nodeId;
        private final long incarnation;
        private volatile ActorRef<NodeProtocol.Command> node;
        private volatile ActorRef<Topic.Command<Batch>> topic;
        private byte[] kinds = new byte[64];
        private long[] hi = new long[64];
        private long[] lo = new long[64];
        private int[] depths = new int[64];
        private int size;
        private long published; // sequence number of the last event handed out

        /** @param incarnation different for every start of the node (a random number) */
        public Log(NodeId nodeId, long incarnation) {
            this.nodeId = nodeId;
            this.incarnation = incarnation;
        }

        /**
         * Where batches go from now on: {@code topic} (this node's local topic actor for {@link #TOPIC}),
         * naming {@code node} as the actor that answers resyncs. Any thread; batches drained before
         * this are dropped (routers resync over the gap).
         */
        public void bind(ActorRef<NodeProtocol.Command> node, ActorRef<Topic.Command<Batch>> topic) {
            this.node = node;
            this.topic = topic;
        }

        /**
         * Binds the log from a node actor's setup: spawns the actor's local topic child for
         * {@link #TOPIC} (a restarted actor spawns a new one) and names the actor for resyncs.
         */
        public void bind(org.apache.pekko.actor.typed.javadsl.ActorContext<NodeProtocol.Command> ctx) {
            bind(ctx.getSelf(), ctx.spawn(Topic.create(Batch.class, TOPIC), "kv-events"));
        }

        /** Publishes a drained batch on the topic (a {@code tell}: never blocks). */
        public void publish(Batch b) {
            ActorRef<Topic.Command<Batch>> t = topic;
            if (t != null) {
                t.tell(Topic.publish(b));
            }
        }

        public void stored(BlockHash hash, int depth) {
            add(STORED, hash.hi(), hash.lo(), depth);
        }

        public void removed(BlockHash hash) {
            add(REMOVED, hash.hi(), hash.lo(), 0);
        }

        public void cleared() {
            add(CLEARED, 0, 0, 0);
        }

        private void add(byte kind, long h, long l, int depth) {
            if (size == kinds.length) {
                int n = size * 2;
                kinds = Arrays.copyOf(kinds, n);
                hi = Arrays.copyOf(hi, n);
                lo = Arrays.copyOf(lo, n);
                depths = Arrays.copyOf(depths, n);
            }
            kinds[size] = kind;
            hi[size] = h;
            lo[size] = l;
            depths[size] = depth;
            size++;
        }

        /** The events since the last drain as one batch, or null if there were none. */
        public Batch drain() {
            if (size == 0) {
                return null;
            }
            Batch b = new Batch(nodeId, incarnation, published + 1, Arrays.copyOf(kinds, size), Arrays.copyOf(hi, size),
                    Arrays.copyOf(lo, size), Arrays.copyOf(depths, size), node);
            published += size;
            size = 0;
            return b;
        }

        /**
         * The node's state: {@code hashes} (pairs of high, low words) as of every event recorded so far.
         * Call on the owning thread, with the hashes read from the pool on that thread; pending events
         * are drained (and must be published) first so the sequence number matches.
         */
        public State state(long[] hashHi, long[] hashLo) {
            return new State(nodeId, incarnation, published + size, hashHi, hashLo);
        }

        public long incarnation() {
            return incarnation;
        }
    }
}
