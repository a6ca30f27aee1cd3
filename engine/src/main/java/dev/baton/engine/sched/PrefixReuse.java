package dev.baton.engine.sched;

import dev.baton.common.BlockHash;
import dev.baton.common.BlockHasher;
import dev.baton.common.ModelFingerprint;
import dev.baton.engine.kv.KvBlockPool;
import dev.baton.engine.kv.KvSequence;
import dev.baton.engine.kv.KvTier;
import dev.baton.engine.kv.PrefixCache;

/**
 * Node-local prefix reuse for one {@link EngineLoop} (docs/design.md §6): the one place where the
 * scheduler talks to the pool's prefix cache. The loop keeps a {@link Blocks} per request and calls in
 * here at admission, before each step and after it.
 *
 * <h2>Life of a request's blocks</h2>
 * <ol>
 *   <li><b>Admission</b> ({@link #fits}, {@link #admit}): the prompt's full blocks are hashed with the
 *       one {@link BlockHasher} (empty tenant salt). The longest cached run of the first
 *       {@code (promptLength - 1) / blockSize} of them is adopted ({@link KvBlockPool#match}: ready or
 *       still being computed); at most that many, so the last prompt position is always computed and
 *       gives the first token's logits. Those blocks need no new allocation, which is what the capacity
 *       check counts. The rest is reserved as before. With a second tier ({@link KvTier}, the host
 *       tier), the blocks that follow the adopted run, up to the same limit, are then read back from it
 *       in order into the new blocks, each published at once ({@code READY}, so the node's KV events
 *       announce it) and adopted like a cached block; the read-back stops at the first block the tier
 *       does not give (missing, or failed its checksum: that block is computed, as are all after it).
 *       Finally the prompt's full blocks among the remaining new ones are claimed
 *       ({@link KvBlockPool#claim}, {@code PENDING}) at once, so a request admitted later with the same
 *       prefix adopts and waits for them instead of computing them again.</li>
 *   <li><b>Before each step</b> ({@link #advance}, {@link #computeEnd}): the request moves past adopted
 *       blocks that are written ({@code READY}): their positions are reused, not computed. It waits at
 *       the first adopted block that is still {@code PENDING} (it stays admitted, with its blocks
 *       reserved, and computes nothing past that block), and continues in the first step after the
 *       block's writer published it. Its own blocks are computed in chunks as usual, up to the next
 *       adopted block.</li>
 *   <li><b>After each step</b> ({@link #publishWritten}): every full block the step finished writing
 *       is published ({@link KvBlockPool#publish}: {@code PENDING -> READY}), the moment its last slot is
 *       written, not when the request ends. That includes blocks filled by generated tokens (their hash
 *       continues the prompt's chain), so a follow-up turn whose prompt repeats the conversation so far
 *       reuses them too; a request's last, partial block is never published.</li>
 *   <li><b>End</b> ({@link #abandonClaims}): a request that is cancelled or fails with claims still
 *       pending abandons them before its blocks are released.</li>
 * </ol>
 *
 * <h2>Abandoned blocks</h2>
 * When a writer abandons its claims, every request that adopted one of them drops each abandoned
 * block it holds ({@link #dropAbandoned}, leaving a hole in its block table: the blocks go back to the
 * pool once nobody holds them) and later fills each hole ({@link #advance}): with the block now
 * cached under that hash if there is one (another waiter may have claimed it first: then it waits for
 * that one), else with a new block it claims and computes itself. The loop drops for every request
 * before any request refills, and before admitting new requests, so the blocks freed by an abandon
 * are there for the refills. Waits cannot form a cycle: a request only ever waits for a block at a
 * smaller depth than any block it claims, whose writer is admitted and computing.
 *
 * <h2>Second tier</h2>
 * The pool's eviction listener ({@link TierLink}) stores every cached block the pool evicts in the
 * tier, so a later request, on this node or on another node sharing the tier, reads it back instead of
 * computing it. Read-back runs on the loop thread at admission: one copy of the block's bytes plus
 * their checksum per block. Blocks read back hold the bytes the tier was given, which are the bytes
 * computing them gives (the engine's determinism contract), so a request's tokens do not depend on
 * which tier its prefix came from.
 *
 * <p>Threading: the loop thread only. Nothing here allocates per step or per token, except the one
 * {@link BlockHash} of each full block of generated tokens (and, at admission, a segment view per
 * block read back).
 */
final class PrefixReuse {

    /** One request's blocks as the prefix cache sees them. */
    static final class Blocks {
        /** {@code hashes[j]}: full block {@code j} of the request's tokens, known for {@code j < hashCount}. */
        private final BlockHash[] hashes;
        private int hashCount;
        /** Full blocks of the prompt. */
        private final int promptBlocks;
        /** Leading blocks that may come from the cache: {@code (promptLength - 1) / blockSize}, or 0. */
        private final int matchLimit;
        /**
         * For {@code j < matchLimit}: block {@code j} was adopted from the cache (another request writes it)
         * or read back from the second tier.
         */
        private final boolean[] adopted;
        /** For {@code j < matchLimit}: block {@code j} was read back from the second tier (and is adopted). */
        private final boolean[] fromTier;
        /** Blocks {@code [0, published)} are published, or adopted. */
        private int published;
        /** The parent of block 0: the chain root for the request's cache salt. */
        private final BlockHash root;

        private Blocks(BlockHash root, BlockHash[] hashes, int promptBlocks, int matchLimit) {
            this.root = root;
            this.hashes = hashes;
            this.hashCount = promptBlocks;
            this.promptBlocks = promptBlocks;
            this.matchLimit = matchLimit;
            this.adopted = new boolean[matchLimit];
            this.fromTier = new boolean[matchLimit];
        }

        private boolean adopted(int block) {
            return block < matchLimit && adopted[block];
        }
    }

    private final KvBlockPool pool;
    private final PrefixCache cache;
    private final TierLink tier;
    private final BlockHasher hasher;
    private final int blockSize;
    private final BlockHash[] oneHash = new BlockHash[1];
    private final int[] oneBlock = new int[1];
    private final boolean[] oneReady = new boolean[1];
    private int[] matchedBlocks = new int[64];
    private boolean[] matchedReady = new boolean[64];
    private long seenAbandons;

    /** @param tier the second tier; it may have no tier attached (then nothing is read back) */
    PrefixReuse(KvBlockPool pool, ModelFingerprint fingerprint, TierLink tier) {
        this.pool = pool;
        this.cache = pool.prefixCache();
        this.tier = tier;
        this.blockSize = pool.spec().blockSize();
        this.hasher = new BlockHasher(fingerprint, "", blockSize);
    }

    /**
     * Hashes a request's prompt.
     *
     * @param cacheSalt         the request's tenant cache salt ({@code ""}: shared)
     * @param reservedPositions the positions its blocks will hold (bounds the blocks it can publish)
     * @param adopt             whether it may start from cached blocks (false for an imported prompt)
     */
    Blocks forPrompt(int[] prompt, String cacheSalt, int reservedPositions, boolean adopt) {
        int promptBlocks = prompt.length / blockSize;
        BlockHash[] hashes = new BlockHash[Math.max(promptBlocks, reservedPositions / blockSize)];
        BlockHash root = hasher.root(cacheSalt);
        BlockHash parent = root;
        for (int j = 0; j < promptBlocks; j++) {
            parent = hasher.next(parent, prompt, j * blockSize);
            hashes[j] = parent;
        }
        return new Blocks(root, hashes, promptBlocks, adopt ? (prompt.length - 1) / blockSize : 0);
    }

    /**
     * Whether the pool can hold the request now: blocks for {@code reservedPositions}, less the cached
     * prefix it would adopt (which takes no reference here, and whose unreferenced blocks no longer
     * count as free once adopted).
     */
    boolean fits(Blocks b, KvSequence kv, int reservedPositions, boolean readyOnly) {
        int matched = 0;
        int evictable = 0;
        while (matched < b.matchLimit) {
            int block = cache.find(b.hashes[matched]);
            if (block == KvBlockPool.NO_BLOCK || readyOnly && !pool.isReady(block)) {
                break;
            }
            if (pool.refCount(block) == 0) {
                evictable++;
            }
            matched++;
        }
        return kv.blocksNeeded(reservedPositions) - matched <= pool.freeBlockCount() - evictable;
    }

    /**
     * Admits a request that {@link #fits}: adopts the cached prefix into the empty {@code kv} (length
     * stays 0: {@link #advance} moves past the adopted blocks once written), reserves the rest, reads
     * what follows the cached prefix back from the second tier, and claims the prompt's full blocks
     * that are left.
     *
     * <p>An imported prompt ({@code imported}) adopts only the leading run of cached blocks that are
     * written (it never waits: its other blocks arrive from the prefill node), reads what follows back
     * from the second tier the same way, and claims nothing (its blocks are published when the import
     * is activated).
     *
     * @return the leading prompt blocks adopted or read back: those the request does not compute (or import)
     */
    int admit(Blocks b, KvSequence kv, int reservedPositions, boolean imported) {
        if (matchedBlocks.length < b.matchLimit) {
            matchedBlocks = new int[b.matchLimit];
            matchedReady = new boolean[b.matchLimit];
        }
        int limit = imported ? readyRun(b) : b.matchLimit;
        int matched = pool.match(b.hashes, limit, matchedBlocks, matchedReady);
        for (int j = 0; j < matched; j++) {
            kv.appendBlock(matchedBlocks[j]);
            b.adopted[j] = true;
        }
        kv.reserve(reservedPositions);
        int[] table = kv.blockTable();
        int loaded = tier.attached() ? readBack(b, table, matched) : matched;
        if (!imported) {
            for (int j = loaded; j < b.promptBlocks; j++) {
                // false when another block holds the hash (a deeper block of a partly evicted chain, or the
                // last full block, which is never adopted): this one is then computed privately
                pool.claim(b.hashes[j], table[j], j);
            }
        }
        return loaded;
    }

    /** The leading blocks of the request (below its match limit) that are cached and written. */
    private int readyRun(Blocks b) {
        int j = 0;
        while (j < b.matchLimit) {
            int block = cache.find(b.hashes[j]);
            if (block == KvBlockPool.NO_BLOCK || !pool.isReady(block)) {
                break;
            }
            j++;
        }
        return j;
    }

    /**
     * Reads blocks {@code from, from + 1, ...} (below the match limit) back from the second tier into
     * the request's new blocks, publishing and adopting each, until the first one the tier does not
     * give, or one the pool holds after all (a deeper block of a partly evicted chain, which the claims
     * then leave to be computed privately, as without a tier). Returns the index after the last block read.
     */
    private int readBack(Blocks b, int[] table, int from) {
        int j = from;
        while (j < b.matchLimit && cache.find(b.hashes[j]) == KvBlockPool.NO_BLOCK
                && tier.load(b.hashes[j], pool.block(table[j]))) {
            pool.publish(table[j], b.hashes[j], j); // true: no block holds the hash (checked above)
            b.adopted[j] = true;
            b.fromTier[j] = true;
            j++;
        }
        return j;
    }

    /**
     * Whether a claim was abandoned (or dropped) since the last call: then every prefilling request
     * must {@link #dropAbandoned} before any of them {@link #advance}s.
     */
    boolean abandonsSinceLastLook() {
        long abandons = cache.abandons();
        if (abandons == seenAbandons) {
            return false;
        }
        seenAbandons = abandons;
        return true;
    }

    /**
     * Releases every adopted block at or past {@code computed} whose writer abandoned it, leaving holes
     * that {@link #advance} fills.
     */
    void dropAbandoned(Blocks b, KvSequence kv, int computed) {
        int[] table = kv.blockTable();
        for (int j = computed / blockSize; j < b.matchLimit; j++) {
            if (b.adopted[j] && table[j] != KvBlockPool.NO_BLOCK
                    && pool.blockState(table[j]) == PrefixCache.State.ABANDONED) {
                kv.dropBlock(j);
            }
        }
    }

    /**
     * Moves {@code computed} (a prompt position) past adopted blocks that are written, setting the
     * sequence's length; fills holes (see the class comment). Returns the new position: positions
     * skipped are reused.
     */
    int advance(Blocks b, KvSequence kv, int computed) {
        while (computed % blockSize == 0) {
            int j = computed / blockSize;
            if (!b.adopted(j)) {
                break;
            }
            int block = kv.blockTable()[j];
            if (block == KvBlockPool.NO_BLOCK) {
                if (!refill(b, kv, j)) {
                    break; // no block free for it now: try again next step
                }
                continue;
            }
            switch (pool.blockState(block)) {
                // UNCACHED: a written block whose hash a clearPrefixCache() dropped while we held it
                case READY, UNCACHED -> {
                    computed += blockSize;
                    kv.setLength(computed);
                    if (b.fromTier[j]) {
                        tier.reused(blockSize);
                    }
                }
                case PENDING -> {
                    return computed;
                }
                case ABANDONED -> dropAbandoned(b, kv, computed);
            }
        }
        return computed;
    }

    /**
     * Fills the holes from block {@code from} on, each with the block cached under its hash now (ready
     * or pending), else with a new block this request claims and computes. Stops when the pool has no
     * block left; returns whether block {@code from} is filled.
     */
    private boolean refill(Blocks b, KvSequence kv, int from) {
        int[] table = kv.blockTable();
        for (int j = from; j < b.matchLimit && kv.holeCount() > 0; j++) {
            if (table[j] != KvBlockPool.NO_BLOCK) {
                continue;
            }
            oneHash[0] = b.hashes[j];
            if (pool.match(oneHash, 1, oneBlock, oneReady) == 1) {
                kv.fillBlock(j, oneBlock[0]);
                continue;
            }
            int block = pool.allocate();
            if (block == KvBlockPool.NO_BLOCK) {
                break;
            }
            kv.fillBlock(j, block);
            b.adopted[j] = false;
            pool.claim(b.hashes[j], block, j);
        }
        return table[from] != KvBlockPool.NO_BLOCK;
    }

    /**
     * The end of the run of prompt positions from {@code computed} that the request computes itself:
     * up to its next adopted block, or the prompt's end. Equal to {@code computed} while it waits for
     * an adopted block.
     */
    int computeEnd(Blocks b, int computed, int promptLength) {
        int j = computed / blockSize;
        if (b.adopted(j)) {
            return computed;
        }
        for (int k = j + 1; k < b.matchLimit; k++) {
            if (b.adopted[k]) {
                return k * blockSize;
            }
        }
        return promptLength;
    }

    /**
     * Publishes the request's full blocks whose positions are now all written ({@code kv.length()}):
     * the prompt blocks it computed itself, then blocks of generated tokens ({@code tokens} holds the
     * prompt and the tokens generated so far).
     */
    void publishWritten(Blocks b, KvSequence kv, int[] tokens) {
        int full = Math.min(kv.length() / blockSize, b.hashes.length);
        if (full <= b.published) {
            return;
        }
        int[] table = kv.blockTable();
        for (int j = b.published; j < full; j++) {
            if (b.adopted(j)) {
                continue;
            }
            if (j >= b.hashCount) {
                b.hashes[j] = hasher.next(j == 0 ? b.root : b.hashes[j - 1], tokens, j * blockSize);
                b.hashCount = j + 1;
            }
            pool.publish(table[j], b.hashes[j], j); // false: another block holds the hash; this one stays private
        }
        b.published = full;
    }

    /** Abandons the request's claims that are still pending; call before its blocks are released. */
    void abandonClaims(Blocks b, KvSequence kv) {
        int[] table = kv.blockTable();
        int end = Math.min(b.promptBlocks, kv.blockCount());
        for (int j = b.published; j < end; j++) {
            // a block this request allocated can only have been claimed by this request
            if (!b.adopted(j) && table[j] != KvBlockPool.NO_BLOCK
                    && pool.blockState(table[j]) == PrefixCache.State.PENDING) {
                pool.abandon(table[j]);
            }
        }
    }
}
